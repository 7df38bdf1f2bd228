"""Answer-quality evaluation: golden questions, metrics (pure) and a runner through the real pipeline."""
