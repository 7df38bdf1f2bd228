"""The website widget's look of a bot: validation of its settings and of avatar images (pure; no Django).

Avatars are sniffed from their bytes, never trusted by name or declared type: PNG, JPEG, WebP and GIF
only. SVG is refused because it can carry scripts, and every image's dimensions are read from its
header so a tiny file cannot ask each visitor's browser to decode a gigapixel bitmap.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

THEME_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_THEME_COLOR = "#2f6f8f"
POSITIONS = ("right", "left")
LAUNCHER_TEXT_MAX_CHARS = 40
SUGGESTED_QUESTIONS_MAX = 4
SUGGESTED_QUESTION_MAX_CHARS = 200
AVATAR_MAX_SIDE_PX = 1024
AVATAR_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}


class AvatarRejected(ValueError):
    """The bytes are not an acceptable avatar. ``reason`` says why and what to do; ``kind`` is
    ``"empty"``, ``"type"``, ``"bytes"`` or ``"pixels"`` (the edge maps them to 400, 415, 413, 400)."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


@dataclass(frozen=True)
class AvatarImage:
    extension: str  # a key of AVATAR_TYPES
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return AVATAR_TYPES[self.extension]


def theme_color_clean(value: str) -> str:
    """``#rrggbb`` in lower case, or ValueError."""
    value = (value or "").strip()
    if not THEME_COLOR.match(value):
        raise ValueError(f"{value!r} is not a colour; use six hex digits like #2f6f8f.")
    return value.lower()


def suggested_questions_clean(values: object) -> list[str]:
    """At most four distinct, non-empty questions of at most 200 characters each, or ValueError."""
    if not isinstance(values, list | tuple):
        raise ValueError("Give the suggested questions as a list of strings.")
    cleaned: list[str] = []
    seen: set[str] = set()
    for value in values:
        if not isinstance(value, str):
            raise ValueError("Each suggested question must be a string.")
        question = " ".join(value.split())
        if not question:
            raise ValueError("A suggested question cannot be empty.")
        if len(question) > SUGGESTED_QUESTION_MAX_CHARS:
            raise ValueError(
                f"{question[:40]!r}… is {len(question)} characters; "
                f"keep each suggested question within {SUGGESTED_QUESTION_MAX_CHARS}."
            )
        if question.casefold() in seen:
            raise ValueError(f"{question!r} is listed twice.")
        seen.add(question.casefold())
        cleaned.append(question)
    if len(cleaned) > SUGGESTED_QUESTIONS_MAX:
        raise ValueError(
            f"{len(cleaned)} suggested questions; the widget shows at most {SUGGESTED_QUESTIONS_MAX}."
        )
    return cleaned


def initials(name: str) -> str:
    """What the widget shows when a bot has no avatar: the first letters of its first two words."""
    letters = [word[0] for word in re.findall(r"\w+", name or "")[:2]]
    return "".join(letters).upper() or "?"


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    # Walk the marker segments to the first start-of-frame (SOF0..SOF15 less DHT, JPG and DAC).
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # segments without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def sniff_avatar(data: bytes, *, max_bytes: int) -> AvatarImage:
    """The image in `data`, or AvatarRejected saying what is wrong and what to upload instead."""
    if not data:
        raise AvatarRejected("The image is empty; upload a PNG, JPEG, WebP or GIF file.", "empty")
    if len(data) > max_bytes:
        raise AvatarRejected(
            f"The image is {len(data) // 1024} KiB; the limit is {max_bytes // 1024} KiB. "
            "Upload a smaller image (an avatar is shown at 34 px).",
            "bytes",
        )
    size: tuple[int, int] | None = None
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        extension = "png"
        if data[12:16] == b"IHDR" and len(data) >= 24:
            size = struct.unpack(">II", data[16:24])
    elif data.startswith(b"\xff\xd8\xff"):
        extension, size = "jpg", _jpeg_size(data)
    elif data[:6] in (b"GIF87a", b"GIF89a"):
        extension = "gif"
        if len(data) >= 10:
            size = struct.unpack("<HH", data[6:10])
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        extension, size = "webp", _webp_size(data)
    else:
        raise AvatarRejected(
            "The file is not a PNG, JPEG, WebP or GIF image (SVG is not accepted: it can carry "
            "scripts). Export the avatar as PNG and upload it again.",
            "type",
        )
    if size is None or not all(size):
        raise AvatarRejected(
            "The image is damaged: its size cannot be read. Re-export it and upload it again.", "type"
        )
    width, height = size
    if width > AVATAR_MAX_SIDE_PX or height > AVATAR_MAX_SIDE_PX:
        raise AvatarRejected(
            f"The image is {width}×{height} pixels; the limit is {AVATAR_MAX_SIDE_PX} pixels a side. "
            "Resize it and upload it again.",
            "pixels",
        )
    return AvatarImage(extension=extension, width=width, height=height)
