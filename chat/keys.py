"""Bot API key format, shared by the key service and the authenticators that must tell keys from JWTs."""

API_KEY_PREFIX = "bw_"
