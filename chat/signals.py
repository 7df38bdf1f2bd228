"""Signals other apps listen to (chat sits below analytics, so it announces instead of calling).

`turn_recorded` is sent inside the transaction that writes a chat turn, after its two messages:
receivers (analytics' daily rollup) write in the same transaction, so the turn and its counters
commit together or not at all. Arguments: `conversation`, `question` and `answer` (the saved
messages), `new_conversation` (this turn started it).
"""

from django.dispatch import Signal

turn_recorded = Signal()
