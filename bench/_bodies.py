"""Request bodies made on demand, for the body-limit bench and tests: a server that refuses a body
unread must be seen to read nothing, without the test holding hundreds of megabytes."""

from __future__ import annotations


class GeneratedBody:
    """A `size`-byte body made on demand (`head`, then `filler` repeated); counts the bytes read."""

    def __init__(self, size: int, head: bytes = b"", filler: bytes = b"x", tail: bytes = b"") -> None:
        self.size, self.head, self.filler, self.tail = size, head, filler, tail
        self.read_bytes = 0

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.read_bytes
        n = left if n is None or n < 0 else min(n, left)
        out = bytearray()
        while len(out) < n:
            pos = self.read_bytes + len(out)
            if pos < len(self.head):
                out += self.head[pos : pos + n - len(out)]
            elif pos >= self.size - len(self.tail):
                start = pos - (self.size - len(self.tail))
                out += self.tail[start : start + n - len(out)]
            else:
                body_end = self.size - len(self.tail)
                want = min(n - len(out), body_end - pos)
                out += (self.filler * (want // len(self.filler) + 1))[:want]
        self.read_bytes += n
        return bytes(out)

    def readline(self, n: int = -1) -> bytes:
        return self.read(n if n and n > 0 else 64 * 1024)
