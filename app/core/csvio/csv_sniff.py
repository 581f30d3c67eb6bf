"""Format detection for CSV logs: encoding, delimiter, `sep=` line and the text column.

Detection works on an in-memory sample (at most `SNIFF_BYTES`), never on a whole file, so it is
cheap on a file of any size. `QuoteScanner` holds csv's quoting rules for the reader's recovery
paths. Streaming, and `sniff` (the format plus the header and preview the reader accepts), live
in `csv_input`, which builds on this module and re-exports its public names.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from app.core.common.errors import InputError
from app.core.common.input_guard import ESCAPE_ERRORS, open_input, refuse_binary, text_codec
from app.core.common.messages import capped_list

SNIFF_BYTES = 1 << 20  # how far `sniff` reads: detection sample and preview
DELIMITERS = (",", ";", "\t", "|")
"""Supported delimiters, in tie-break order: a comma wins any tie (it is the format's default)."""

# ESCAPE_ERRORS (defined in input_guard, which refuses codecs that cannot use it) names the
# codec error handler that turns every undecodable byte 0xNN into the lone surrogate U+DCNN.
# Python's own "surrogateescape" cannot escape bytes below 0x80, which broken UTF-16 produces,
# and raising would make one bad byte fatal for the whole file. Valid decodes of the supported
# codecs never yield lone surrogates, so U+DC00..U+DCFF in decoded text always means "bad byte".

_ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "utf-16": "UTF-16 (BOM)",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "utf-32": "UTF-32 (BOM)",
    "utf-32-le": "UTF-32 LE",
    "utf-32-be": "UTF-32 BE",
    "cp1252": "Windows-1252",
}
_DELIMITER_LABELS = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
_TEXT_NAMES = frozenset(
    "text tweet comment comments message content body post review description".split()
)
_NUMBER = re.compile(r"[+-]?(\d[\d ,.']*|[.,]\d+)([eE][+-]?\d+)?%?")
_UNDECODABLE = re.compile("[\udc00-\udcff]")
SEP_LINE = re.compile(r"sep=([^\r\n])(?:\r\n|\r|\n|$)", re.IGNORECASE)
_DELIMITER_ALIASES = {"tab": "\t", "\\t": "\t"}
_START, _FIELD, _QUOTED, _AFTER_QUOTE = range(4)
_ESCAPED_HIGH = "".join(chr(0xDC80 + b) for b in range(0x80))  # bytes 0x80-0xFF


def _escape_bytes(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error(ESCAPE_ERRORS, _escape_bytes)


def encoding_label(encoding: str) -> str:
    """Human name of a codec, e.g. "UTF-8 (BOM)"; unknown codecs are shown as given."""
    return _ENCODING_LABELS.get(encoding, encoding)


@dataclass(frozen=True)
class CsvFormat:
    """How to decode and split a file; produced by `sniff`, consumed by `iter_chunks`."""

    encoding: str  # Python codec used to decode, e.g. "utf-8-sig", "utf-16-le", "cp1252"
    delimiter: str  # one of DELIMITERS
    sep_line: bool  # the file starts with Excel's "sep=X" line, which is skipped

    def describe(self) -> str:
        """One line for the UI/CLI, e.g. "UTF-8 (BOM), ';' delimiter"."""
        delim = _DELIMITER_LABELS.get(self.delimiter, repr(self.delimiter))
        text = f"{encoding_label(self.encoding)}, {delim} delimiter"
        return text + (", 'sep=' line" if self.sep_line else "")


def detect_encoding(head: bytes) -> str:
    """Guess the codec of a file from its first bytes, by these rules in order.

    1. A BOM decides: UTF-8 BOM -> "utf-8-sig"; UTF-16 LE/BE BOM -> "utf-16" (which reads it).
    2. No BOM, but NULs at mostly odd (even) offsets, as ASCII-heavy UTF-16 LE (BE) text has:
       "utf-16-le" ("utf-16-be").
    3. UTF-8 if it decodes, allowing a multi-byte character cut at the end of the sample, and also
       if bad bytes are rare next to valid multi-byte characters: one corrupt byte in a UTF-8 log
       should reject one row, not turn every accented letter of the file into mojibake.
    4. Otherwise "cp1252", which decodes almost every byte (the Windows default for Excel exports).
    """
    if not head:
        raise InputError("The file is empty.")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    # UTF-32 first: its little-endian BOM begins with UTF-16's.
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if utf32 := _utf32_order(head):
        return utf32
    pairs = len(head) // 2
    if pairs >= 2 and not _plain_first_line(head):
        even_nuls, odd_nuls = head[0 : 2 * pairs : 2].count(0), head[1 : 2 * pairs : 2].count(0)
        if odd_nuls >= 0.3 * pairs and even_nuls <= 0.05 * pairs:
            return "utf-16-le"
        if even_nuls >= 0.3 * pairs and odd_nuls <= 0.05 * pairs:
            return "utf-16-be"
    text = head.decode("utf-8", ESCAPE_ERRORS)
    # A multi-byte character cut by the end of the sample decodes as 1-3 escaped bytes at the very
    # end that form a valid UTF-8 prefix; they say nothing about the encoding.
    kept = text.rstrip(_ESCAPED_HIGH)
    tail = len(text) - len(kept)
    if 0 < tail <= 3 and _is_utf8_prefix(head[len(head) - tail :]):
        text = kept
    bad = len(_UNDECODABLE.findall(text))
    if not bad:
        return "utf-8"
    multibyte = len(text) - len(text.encode("ascii", "ignore")) - bad
    return "utf-8" if multibyte >= 20 * bad else "cp1252"


def _utf32_order(head: bytes) -> str | None:
    """ "utf-32-le"/"utf-32-be" for BOM-less UTF-32 of mostly BMP text, else None: in each
    4-byte unit the two high bytes are zero (and the top one always is)."""
    units = len(head) // 4
    if units < 2:
        return None
    zeros = [head[i : 4 * units : 4].count(0) for i in range(4)]
    if zeros[3] == units and zeros[2] >= 0.9 * units and zeros[0] <= 0.05 * units:
        return "utf-32-le"
    if zeros[0] == units and zeros[1] >= 0.9 * units and zeros[3] <= 0.05 * units:
        return "utf-32-be"
    return None


def _plain_first_line(head: bytes) -> bool:
    """True if `head` starts with a line of one-byte printable ASCII (no NUL before the first LF):
    a text header over NUL-laden data, which UTF-16 (with a zero in every ASCII unit) is not."""
    line = head[: max(head.find(b"\n"), 0)]
    return bool(line) and all(32 <= b < 127 or b in (9, 13) for b in line)


def _is_utf8_prefix(tail: bytes) -> bool:
    """True if `tail` is the start of a UTF-8 multi-byte sequence that was cut short."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(tail, final=False)
    except UnicodeDecodeError:
        return False
    return True


def detect_delimiter(sample_text: str) -> str:
    """Pick the delimiter among , ; tab | that splits the sample most consistently.

    Each candidate parses the first 50 records (quotes respected). Its score is the share of
    non-blank records whose field count equals the most common count, which must be > 1. The best
    score wins; ties go to the earlier of , ; tab | so a plain comma file never surprises.
    """
    best, best_score = ",", 0.0
    for delim in DELIMITERS:
        counts: Counter[int] = Counter()
        reader = csv.reader(io.StringIO(sample_text, newline=""), delimiter=delim)
        try:
            for row in reader:
                if row:
                    counts[len(row)] += 1
                if reader.line_num >= 50:
                    break
        except csv.Error:
            pass  # a sample cut inside a huge field: judge on what parsed so far
        if not counts:
            continue
        fields, hits = counts.most_common(1)[0]
        score = hits / sum(counts.values())
        if fields > 1 and score > best_score:
            best, best_score = delim, score
    return best


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def _unique(header: list[str], name: str) -> str:
    if header.count(name) > 1:
        raise InputError(
            f"Column {name!r} appears {header.count(name)} times in the header; "
            "rename the duplicates or choose another column."
        )
    return name


def _mostly_numeric(values: list[str]) -> bool:
    filled = [v.strip() for v in values if v.strip()]
    return bool(filled) and sum(bool(_NUMBER.fullmatch(v)) for v in filled) * 2 > len(filled)


def choose_text_column(
    header: list[str],
    preview: list[list[str]],
    requested: str | None = None,
    *,
    source: object = None,
) -> str:
    """Return the name of the column to score, by these rules in order.

    1. `requested` (the user's choice) wins: an exact name, else the one name that matches it
       ignoring case and surrounding/repeated whitespace. No match -> InputError listing the
       columns, so a typo on the command line is answered with the right spelling.
    2. Otherwise the first column whose trimmed, case-folded name is one of: text, tweet,
       comment, comments, message, content, body, post, review, description.
    3. Otherwise the column with the longest mean value length over `preview`, among columns
       whose non-empty values are not mostly numbers (ids, scores and timestamps are short and
       numeric; free text is long). No such column -> InputError.

    The result is a name, so a name that appears twice in the header cannot identify a column:
    that case raises InputError instead of silently taking the first one. The InputError
    names `source` (the user's file) when given, and lists at most a few columns.
    """
    try:
        return _choose_text_column(header, preview, requested)
    except InputError as exc:
        if source is None:
            raise
        raise InputError(f"{source}: {exc}") from None


def _choose_text_column(header: list[str], preview: list[list[str]], requested: str | None) -> str:
    if not header:
        raise InputError("The file has no header row, so there is no column to choose.")
    if requested is not None:
        if requested in header:
            return _unique(header, requested)
        matches = sorted({h for h in header if _norm(h) == _norm(requested)})
        if len(matches) == 1:
            return _unique(header, matches[0])
        available = capped_list(header)
        if matches:
            raise InputError(f"Column {requested!r} is ambiguous; the columns are: {available}.")
        raise InputError(f"There is no column {requested!r}; the columns are: {available}.")
    for name in header:
        if _norm(name) in _TEXT_NAMES:
            return _unique(header, name)
    best, best_len = None, 0.0
    for i, name in enumerate(header):
        values = [row[i] for row in preview if i < len(row)]
        if not values or _mostly_numeric(values):
            continue
        mean = sum(map(len, values)) / len(values)
        if mean > best_len:
            best, best_len = name, mean
    if best is None:
        raise InputError("No column looks like free text; choose the text column by name.")
    return _unique(header, best)


class QuoteScanner:
    """Replays csv's quoting rules over raw text without keeping the text.

    Used off the fast path only: to find where a record ends after csv.Error (the C reader
    restarts at the next line, which may still be inside a quoted field) and to stream past an
    over-long line. It also notes the first field longer than `limit`, for the reject reason.
    """

    def __init__(self, delimiter: str, limit: int, quoted: bool = False) -> None:
        self.delimiter, self.limit = delimiter, limit
        self.state = _QUOTED if quoted else _START
        self.field, self.length, self.overflow = 1, 0, 0

    def feed(self, text: str) -> None:
        """Advance over `text`, which holds no line break (pieces of one line are fine)."""
        state, i, n = self.state, 0, len(text)
        while i < n:
            if state == _QUOTED or state == _FIELD:
                j = text.find('"' if state == _QUOTED else self.delimiter, i)
                if j < 0:
                    self.length += n - i
                    break
                self.length += j - i
                i = j + 1
                if state == _QUOTED:
                    state = _AFTER_QUOTE
                else:
                    self._next_field()
                    state = _START
            else:  # start of a field, or just after a quote inside a quoted field
                c = text[i]
                i += 1
                if c == '"':
                    self.length += state == _AFTER_QUOTE  # "" inside quotes is one quote
                    state = _QUOTED
                elif c == self.delimiter:
                    self._next_field()
                    state = _START
                else:
                    self.length += 1
                    state = _FIELD
        self.state = state

    def _next_field(self) -> None:
        if self.length > self.limit and not self.overflow:
            self.overflow = self.field
        self.field, self.length = self.field + 1, 0

    def end_line(self) -> bool:
        """Process a line break; True if it ends the record (we are not inside quotes)."""
        if self.state == _QUOTED:
            self.length += 1
            return False
        self._next_field()
        return True


def _resolve_encoding(encoding: str, head: bytes, path: str | Path) -> str:
    name = text_codec(encoding, path)
    # Reading a BOM file as plain UTF-8 would glue U+FEFF to the first column name.
    if name == "utf-8" and head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    # "UTF-16" chosen for a file without a BOM: Python's utf-16 codec insists on one, so take
    # the byte order from the zero bytes; a file whose bytes say otherwise is refused.
    if name == "utf-16" and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        detected = detect_encoding(head)
        if detected not in ("utf-16-le", "utf-16-be"):
            raise _unlike(path, "UTF-16", head, detected)
        return detected
    if name == "utf-32" and not head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        if not (order := _utf32_order(head)):
            raise _unlike(path, "UTF-32", head, detect_encoding(head))
        return order
    return name


def _unlike(path: str | Path, wanted: str, head: bytes, detected: str) -> InputError:
    """Refusal of a BOM-less file for ``--encoding utf-16/32`` that says what the bytes do show."""
    why = "no byte-order mark, no zero bytes" if 0 not in head else "no byte-order mark"
    if 0 in head and not detected.startswith(("utf-16", "utf-32")):
        why = f"no byte-order mark, zero bytes not where {wanted} has them"
    looks = encoding_label(detected)
    return InputError(
        f"{path} does not look like {wanted} ({why}); it looks like {looks}. "
        "Leave out --encoding to use the detected encoding."
    )


def sniff_format(
    path: str | Path, *, encoding: str | None = None, delimiter: str | None = None
) -> tuple[CsvFormat, int]:
    """The file's format (detected unless given) and its size in bytes; reads at most 1 MiB.

    `app.core.csvio.csv_input.sniff` adds the header and a preview read by the reader itself.
    """
    try:
        with open_input(path) as raw:
            size = os.fstat(raw.fileno()).st_size
            head = raw.read(SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"Cannot open {path}: {exc.strerror or exc}.") from None
    if not head:
        raise InputError(f"{path} is empty.")
    enc = _resolve_encoding(encoding, head, path) if encoding else detect_encoding(head)
    refuse_binary(path, head, enc)
    text = codecs.decode(head, enc, ESCAPE_ERRORS).removeprefix("\ufeff")
    if len(head) < size:  # drop the last, probably cut, line from the sample
        text = text[: max(text.rfind("\n"), text.rfind("\r")) + 1] or text
    sep = SEP_LINE.match(text)
    if delimiter is not None:
        delim = _DELIMITER_ALIASES.get(delimiter.lower(), delimiter)
    else:
        delim = sep.group(1) if sep else detect_delimiter(text)
    if delim not in DELIMITERS:
        raise InputError(f"Unsupported delimiter {delim!r} for {path}; use , ; tab or |.")
    return CsvFormat(enc, delim, sep is not None), size
