"""Apertium: the offline rule-based engine, pivoting through Spanish.

Debian has no direct English-French pair, so en->fr runs eng-spa then es-fr and
fr->en runs fr-es then spa-eng. A whole batch goes through one `apertium` process
per stage (forking its ~12-program pipeline per string would cost more than the
translation itself). Segment boundaries survive because we bypass apertium's text
deformatter (`-f none`), write its stream format ourselves and end every segment
with a NUL: in null-flush mode (`-z`) every program of the pipeline flushes its
state at a NUL and copies it through, so segment i of the output is exactly the
translation of segment i of the input. Everything apertium must not touch (line
breaks, runs of whitespace, the stream format's reserved characters) travels in
"superblanks" `[...]`, which the pipeline copies verbatim. As a result, an
unescaped `*`, `#` or `@` in the output can only be one of apertium's
unknown-word marks, and is removed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO

from .base import BatchResult, Engine, EngineError, EngineUnavailable, Usage
from ..injection import INJECTION_OPTIONS
from .options import Option

DEBIAN_PACKAGES = ("apertium", "apertium-eng-spa", "apertium-fr-es")
INSTALL_HINT = "apt-get install " + " ".join(DEBIAN_PACKAGES)
DEFAULT_DATADIR = "/usr/share/apertium"

# Apertium mode names per direction; more than one mode means a pivot.
PAIRS: dict[tuple[str, str], tuple[str, ...]] = {
    ("en", "fr"): ("eng-spa", "es-fr"),
    ("fr", "en"): ("fr-es", "spa-eng"),
    ("en", "es"): ("eng-spa",),
    ("es", "en"): ("spa-eng",),
    ("es", "fr"): ("es-fr",),
    ("fr", "es"): ("fr-es",),
}

# Characters with a meaning in apertium's stream format, plus the ones its
# programs unescape on the way (`*`, `#`): sent inside a superblank instead.
_RESERVED = set("[]{}^$/\\@<>*#")
# One output token: an escaped char, a superblank, a mark, a NUL, or plain text.
_STREAM_TOKEN = re.compile(r"\\(.)|\[((?:\\.|[^\]\\])*)\]|([*#@])|(\x00)|([^\\\[*#@\x00]+)", re.DOTALL)
_SPACES = re.compile(r" {2,}")


def encode_segment(text: str) -> str:
    """Write one segment in apertium's stream format, protected parts in superblanks.

    A single space stays a word separator; any other whitespace (newline, tab,
    two spaces) and every reserved character becomes a superblank so that it
    comes back byte for byte. The trailing `[]` keeps apertium from swallowing a
    segment-final full stop (it treats a final "." as the end-of-stream period it
    inserts itself, unless a blank follows).
    """
    out: list[str] = []
    for token in re.finditer(r"\s{2,}|.", text.replace("\x00", ""), re.DOTALL):
        chunk = token.group(0)
        if chunk == " " or (len(chunk) == 1 and chunk not in _RESERVED and not chunk.isspace()):
            out.append(chunk)
        else:
            # Reserved characters are escaped inside the superblank too: a bare
            # `^` there makes the pipeline drop the rest of the stream.
            out.append("[" + "".join("\\" + c if c in _RESERVED else c for c in chunk) + "]")
    return "".join(out) + "[]"


def remove_marks(stream: str) -> str:
    """Drop unknown-word marks from a stream, keeping it valid for the next stage."""
    return _STREAM_TOKEN.sub(lambda m: "" if m.group(3) else m.group(0), stream)


def starts_lowercase(text: str) -> bool:
    """Whether the first letter of a text is lower case ("red", "3 red cubes")."""
    return next((c.islower() for c in text if c.isalpha()), False)


def lower_initial(stream: str) -> str:
    """Lower-case the first letter of a stream segment unless its word is all caps.

    eng-spa capitalises a segment's first word ("red" -> "Rojo"), and es-fr then
    takes "Rojo" for a proper noun and leaves it untranslated; VQA answers and
    options are mostly lower case, so we give the output the source's case.
    """
    for m in _STREAM_TOKEN.finditer(stream):
        text = m.group(5)
        if text is None or not any(c.isalpha() for c in text):
            continue
        word = re.search(r"\w+", text)
        if word and word.group(0).isupper() and len(word.group(0)) > 1:
            return stream
        i = m.start(5) + next(j for j, c in enumerate(text) if c.isalpha())
        return stream[:i] + stream[i].lower() + stream[i + 1 :]
    return stream


def decode_stream(stream: str) -> list[str]:
    """Turn pipeline output into plain-text segments (split at NUL), marks removed."""
    segments: list[str] = []
    current: list[str] = []
    for m in _STREAM_TOKEN.finditer(stream):
        escaped, blank, _mark, nul, text = m.groups()
        if escaped is not None:
            current.append(escaped)
        elif blank is not None:
            # Superblank content is ours: keep it exactly. \x01 marks it so the
            # space clean-up below never touches it.
            current.append("\x01" + re.sub(r"\\(.)", r"\1", blank, flags=re.DOTALL) + "\x02")
        elif nul is not None:
            segments.append(_tidy("".join(current)))
            current = []
        elif text is not None:
            current.append(text)
    if "".join(current).strip():
        segments.append(_tidy("".join(current)))
    return segments


def _lower_first_letter(text: str) -> str:
    for i, c in enumerate(text):
        if c.isalpha():
            word = re.match(r"\w+", text[i:])
            if word and word.group(0).isupper() and len(word.group(0)) > 1:
                return text
            return text[:i] + c.lower() + text[i + 1 :]
    return text


def _tidy(segment: str) -> str:
    """Collapse spaces apertium added; keep superblank content verbatim."""
    parts = re.split(r"\x01(.*?)\x02", segment, flags=re.DOTALL)
    # parts alternates: apertium text, superblank, apertium text, ...
    for i in range(0, len(parts), 2):
        parts[i] = _SPACES.sub(" ", parts[i])
    # re.split with one group gives an odd count: text first and last.
    parts[0] = parts[0].lstrip(" ")
    parts[-1] = parts[-1].rstrip(" ")
    return "".join(parts)


class ApertiumEngine(Engine):
    """Debian's apertium, run as one process per pipeline stage per batch."""

    name = "apertium"
    max_segment_chars = 20_000
    # Starting the pipeline's ~10 processes costs ~0.5 s, so jobs hand it big batches.
    batch_size = 512
    # Most of a batch is the pipeline starting (~0.55 s of ~0.75 s, 0.68 s of CPU),
    # the rest segments passing down a dozen processes, each waiting on the one before:
    # a second pipeline in flight uses the CPU that leaves idle. Measured on 2 quiet
    # cores: apertium alone 794 -> 959 items/s, the job 733 -> 802 (docs/performance.md).
    concurrent_batches = 2
    # Not `executable` or `datadir`: what runs comes from APERTIUM_EXECUTABLE / APERTIUM_DATADIR.
    request_options = (
        Option("timeout", float, 1, 3600, help="seconds one pipeline stage may take"),
        Option("max_segment_chars", int, 1, 20_000, help="longer segments are split first"),
        *INJECTION_OPTIONS,  # any engine: errors put in on purpose after it translates
    )

    def __init__(
        self,
        executable: str = "apertium",
        datadir: str = DEFAULT_DATADIR,
        timeout: float = 900.0,
        max_segment_chars: int | None = None,
    ) -> None:
        path = shutil.which(executable)
        if path is None:
            raise EngineUnavailable(f"apertium is not installed (no `{executable}` on PATH): {INSTALL_HINT}")
        self.executable = path
        self.datadir = datadir
        self.timeout = timeout
        if max_segment_chars is not None:
            self.max_segment_chars = max_segment_chars
        self.model = _package_versions() or f"apertium ({datadir})"

    def installed_modes(self) -> list[str]:
        return sorted(p.stem for p in Path(self.datadir, "modes").glob("*.mode"))

    def modes_for(self, source: str, target: str) -> tuple[str, ...]:
        """The apertium modes for a direction, or EngineUnavailable saying what to install."""
        modes = PAIRS.get((source, target))
        if modes is None:
            known = ", ".join(f"{s}->{t}" for s, t in PAIRS)
            raise EngineUnavailable(
                f"apertium has no {source}->{target} pair here (supported: {known}); "
                f"for en<->fr: {INSTALL_HINT}"
            )
        missing = [mode for mode in modes if mode not in self.installed_modes()]
        if missing:
            raise EngineUnavailable(
                f"apertium mode(s) {', '.join(missing)} missing in {self.datadir}/modes "
                f"(needed for {source}->{target}): {INSTALL_HINT}"
            )
        return modes

    def _translate_batch(self, texts: list[str], source: str, target: str) -> BatchResult:
        modes = self.modes_for(source, target)
        stream = "".join(encode_segment(text) + "\x00" for text in texts)
        lower = [starts_lowercase(text) for text in texts]
        output = self._run_pipeline(modes, stream.encode("utf-8"), lower)
        outputs = decode_stream(output.decode("utf-8", "replace"))
        # Each program of the pipeline adds a NUL at end of input: extra empty tails.
        if len(outputs) < len(texts) or any(o.strip() for o in outputs[len(texts) :]):
            raise EngineError(
                f"apertium returned {len(outputs)} segments for {len(texts)}: segment boundaries were lost"
            )
        outputs = [_lower_first_letter(out) if low else out for out, low in zip(outputs[: len(texts)], lower)]
        return BatchResult(outputs=outputs, usage=Usage(requests=len(modes)))

    def _run_pipeline(self, modes: tuple[str, ...], stream: bytes, lower: list[bool]) -> bytes:
        """Run the stages concurrently, one `apertium` process each, piped through us.

        Between stages we remove the first stage's unknown-word marks (so that
        es-fr analyses "gato", not "#gato"); doing it on the fly, at NUL
        boundaries, keeps both stages busy at once.
        """
        env = dict(os.environ, LC_ALL="C.UTF-8")
        errors = [tempfile.TemporaryFile() for _ in modes]
        procs = [
            subprocess.Popen(
                [self.executable, "-d", self.datadir, "-f", "none", "-z", mode],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                # `apertium` is a shell script running a dozen programs: its own
                # process group lets a timeout stop all of them, not just bash.
                start_new_session=True,
            )
            for mode, err in zip(modes, errors)
        ]
        threads = [threading.Thread(target=_feed, args=(procs[0].stdin, stream), daemon=True)]
        threads += [
            threading.Thread(target=_relay, args=(up.stdout, down.stdin, lower), daemon=True)
            for up, down in zip(procs, procs[1:])
        ]
        timed_out = threading.Event()

        def on_timeout() -> None:
            timed_out.set()
            _kill(procs)

        watchdog = threading.Timer(self.timeout, on_timeout)
        for thread in [*threads, watchdog]:
            thread.start()
        try:
            assert procs[-1].stdout is not None
            output = procs[-1].stdout.read()
            codes = [p.wait() for p in procs]
        except BaseException:
            _kill(procs)
            raise
        finally:
            watchdog.cancel()
            for thread in threads:
                thread.join(timeout=5)
        if timed_out.is_set():
            raise EngineError(f"apertium {'+'.join(modes)} took longer than {self.timeout:g} s")
        for mode, code, err in zip(modes, codes, errors):
            err.seek(0)
            message = err.read().decode("utf-8", "replace").strip()[-500:]
            err.close()
            if code != 0:
                raise EngineError(f"apertium {mode} failed (exit {code}): {message}")
        return output


def _package_versions() -> str:
    """ "apertium 3.8.3-1, apertium-eng-spa 0.8.1-2, ...": what a Translation records as model."""
    try:
        done = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", *DEBIAN_PACKAGES],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return ", ".join(line.strip() for line in done.stdout.splitlines() if line.strip())


def _kill(procs: list[subprocess.Popen[bytes]]) -> None:
    """Stop our pipelines: each `apertium` leads the process group it was started in."""
    for process in procs:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _feed(pipe: IO[bytes] | None, data: bytes) -> None:
    assert pipe is not None
    try:
        pipe.write(data)
    except BrokenPipeError:  # the process died; its exit code tells why
        pass
    finally:
        _close(pipe)


def _relay(source: IO[bytes] | None, sink: IO[bytes] | None, lower: list[bool]) -> None:
    """Copy one stage's output to the next, whole segments at a time, cleaned up."""
    assert source is not None and sink is not None
    pending = b""
    index = 0
    try:
        while chunk := source.read1(1 << 16):  # type: ignore[attr-defined]
            pending += chunk
            *done, rest = pending.split(b"\x00")
            out = []
            for segment in done:
                text = remove_marks(segment.decode("utf-8", "replace"))
                out.append(lower_initial(text) if index < len(lower) and lower[index] else text)
                index += 1
            if done:
                sink.write("".join(seg + "\x00" for seg in out).encode("utf-8"))
                sink.flush()
            pending = rest
        sink.write(remove_marks(pending.decode("utf-8", "replace")).encode("utf-8"))
    except BrokenPipeError:
        pass
    finally:
        _close(sink)


def _close(pipe: IO[bytes]) -> None:
    try:
        pipe.close()
    except BrokenPipeError:
        pass
