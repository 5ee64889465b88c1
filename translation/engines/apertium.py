"""Apertium: the offline rule-based engine, pivoting through Spanish.

Debian has no direct English-French pair, so en->fr runs eng-spa then es-fr and
fr->en runs fr-es then spa-eng. One `apertium` process per stage runs for as long
as the engine (a job) does, and batch after batch goes through it: starting its
~12-program pipeline cost two thirds of a batch's CPU when it ran once per batch
(docs/performance.md). Segment boundaries survive because we bypass apertium's text
deformatter (`-f none`), write its stream format ourselves and end every segment
with a NUL: in null-flush mode (`-z`) every program of the pipeline flushes its
state at a NUL and copies it through, so segment i of the output is exactly the
translation of segment i of the input, and a batch is over when as many NULs as it
has segments have come out. Everything apertium must not touch (line
breaks, runs of whitespace, the stream format's reserved characters) travels in
"superblanks" `[...]`, which the pipeline copies verbatim. As a result, an
unescaped `*`, `#` or `@` in the output can only be one of apertium's
unknown-word marks: it is removed from the text, and the marked words are reported
per segment (`Usage.left_words`), the words left in English or in the Spanish pivot
that translation/checks.py grades down.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import weakref
from pathlib import Path

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
_MARKED_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


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
    """Debian's apertium, one process per pipeline stage, kept between batches (`close` stops them)."""

    name = "apertium"
    max_segment_chars = 20_000
    # Starting the pipeline's ~10 processes costs ~0.5 s, once per engine now (it cost
    # that per batch before the pipelines were kept); what a killed worker may lose.
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
        # Pipelines kept between batches, one per batch in flight; stopped by close(), or
        # when the engine is collected (their stages also end at end of input, if we die).
        self._idle: list[_Pipeline] = []
        self._lock = threading.Lock()
        self._wblank_mode: str | None = None
        self._script_cache: dict[str, str] = {}
        weakref.finalize(self, _stop_all, self._idle, self._lock)

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
        output, marked = self._run(modes, stream.encode("utf-8"), lower)
        outputs = decode_stream(output.decode("utf-8", "replace"))
        if len(outputs) != len(texts):
            raise EngineError(
                f"apertium returned {len(outputs)} segments for {len(texts)}: segment boundaries were lost"
            )
        outputs = [_lower_first_letter(out) if low else out for out, low in zip(outputs, lower)]
        # The words each stage marked, in the language that stage reads: the source's for
        # the first, the pivot's (Spanish) for the second, less the source words it passed on.
        languages = (source, *(["es"] * (len(modes) - 1)))
        left: dict[str, dict[str, tuple[str, ...]]] = {}
        for text, stages in zip(texts, marked):
            seen: set[str] = set()
            words: dict[str, tuple[str, ...]] = {}
            for lang, stage in zip(languages, stages):
                new = tuple(dict.fromkeys(w for w in stage if w.lower() not in seen))
                seen.update(w.lower() for w in stage)
                if new:
                    words[lang] = (*words.get(lang, ()), *new)
            left[text] = words
        return BatchResult(outputs=outputs, usage=Usage(requests=len(modes), left_words=left))

    def _run(self, modes: tuple[str, ...], stream: bytes, lower: list[bool]) -> tuple[bytes, list[list[list[str]]]]:
        """The batch through a pipeline kept from an earlier batch, or a new one. A kept
        pipeline that fails (its processes died since) is replaced once."""
        pipeline = self._take(modes)
        try:
            try:
                result = pipeline.run(stream, lower, self.timeout)
            except _PipelineFailed:
                if not pipeline.reused:
                    raise
                pipeline.stop()
                pipeline = _Pipeline(self._scripts(modes), modes)
                result = pipeline.run(stream, lower, self.timeout)
        except _PipelineFailed as failed:
            pipeline.stop()
            raise EngineError(str(failed)) from None
        except BaseException:
            pipeline.stop()
            raise
        with self._lock:
            self._idle.append(pipeline)
        return result

    def _take(self, modes: tuple[str, ...]) -> _Pipeline:
        """An idle pipeline for these modes, or a new one (one per batch in flight)."""
        with self._lock:
            for pipeline in self._idle:
                if pipeline.modes == modes:
                    self._idle.remove(pipeline)
                    if pipeline.alive():
                        pipeline.reused = True
                        return pipeline
                    pipeline.stop()
                    break
        return _Pipeline(self._scripts(modes), modes)

    def _scripts(self, modes: tuple[str, ...]) -> list[str]:
        """Each mode's pipeline as the `apertium` script runs it with `-f none -z`, less the
        script's own wrapping: its gawk filters hold a segment's NUL back until more input
        comes, which a kept pipeline waiting for its next batch never sends. (They copy
        the stream unchanged otherwise, so the output is the same.)"""
        if self._wblank_mode is None:
            beside = Path(self.executable).with_name("apertium-wblank-mode")
            found = str(beside) if beside.exists() else shutil.which("apertium-wblank-mode")
            if found is None:
                raise EngineUnavailable(f"apertium-wblank-mode is missing (it comes with apertium): {INSTALL_HINT}")
            self._wblank_mode = found
        scripts = []
        for mode in modes:
            if mode not in self._script_cache:
                done = subprocess.run(
                    [self._wblank_mode, "-z", str(Path(self.datadir, "modes", f"{mode}.mode"))],
                    capture_output=True, text=True, timeout=30, check=False,
                )  # fmt: skip
                if done.returncode != 0 or not done.stdout.strip():
                    raise EngineError(f"apertium-wblank-mode could not read mode {mode}: {done.stderr.strip()[-300:]}")
                self._script_cache[mode] = done.stdout
            scripts.append(self._script_cache[mode])
        return scripts

    def close(self) -> None:
        """Stop the kept pipelines (a later batch starts new ones)."""
        _stop_all(self._idle, self._lock)


class _PipelineFailed(Exception):
    """A pipeline stage died or ran out of time; the message says which and why."""


class _Pipeline:
    """One `apertium -z` process per stage, kept running between batches.

    Starting a stage's dozen programs costs most of a small batch (docs/performance.md),
    so a batch is written into the running stages and read back segment by segment: in
    null-flush mode every program answers and flushes each NUL-terminated segment, so a
    batch ends when as many NULs as it has segments have come out of the last stage.
    Between stages the relay records and removes the first stage's unknown-word marks
    (so that es-fr analyses "gato", not "#gato"), at NUL boundaries, so both stages work
    at once. The output is byte for byte that of one process per stage per batch.
    """

    def __init__(self, scripts: list[str], modes: tuple[str, ...]) -> None:
        self.modes = modes
        self.reused = False
        env = dict(os.environ, LC_ALL="C.UTF-8")
        self._errors = [tempfile.TemporaryFile() for _ in modes]
        self.procs = [
            subprocess.Popen(
                # $1 and $2 as `apertium -f none` passes them: mark unknown words (-g), default tagger.
                ["bash", "-c", script, f"apertium-{mode}", "-g", ""],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                # `apertium` is a shell script running a dozen programs: its own
                # process group lets a timeout stop all of them, not just bash.
                start_new_session=True,
            )
            for mode, script, err in zip(modes, scripts, self._errors)
        ]

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.procs)

    def run(self, stream: bytes, lower: list[bool], timeout: float) -> tuple[bytes, list[list[list[str]]]]:
        """(the last stage's output for the batch, each segment's marked words per stage)."""
        count = len(lower)
        marked: list[list[list[str]]] = [[] for _ in range(count)]
        threads = [threading.Thread(target=self._feed, args=(stream,), daemon=True)]
        threads += [
            threading.Thread(target=self._relay, args=(up, down, count, lower, marked, stage), daemon=True)
            for stage, (up, down) in enumerate(zip(self.procs, self.procs[1:]))
        ]
        timed_out = threading.Event()

        def on_timeout() -> None:
            timed_out.set()
            self.stop()

        watchdog = threading.Timer(timeout, on_timeout)
        for thread in [*threads, watchdog]:
            thread.start()
        try:
            segments = _read_segments(self.procs[-1].stdout, count)
        finally:
            watchdog.cancel()
            for thread in threads:
                thread.join(timeout=5)
        if timed_out.is_set():
            raise _PipelineFailed(f"apertium {'+'.join(self.modes)} took longer than {timeout:g} s")
        if len(segments) < count:
            raise _PipelineFailed(self._failure())
        for segment, words in zip(segments, marked):
            words.append(marked_words(segment.decode("utf-8", "replace")))
        return b"".join(segment + b"\x00" for segment in segments), marked

    def _feed(self, data: bytes) -> None:
        pipe = self.procs[0].stdin
        assert pipe is not None
        try:
            pipe.write(data)
            pipe.flush()
        except (BrokenPipeError, ValueError):  # the stage died (or was stopped): its exit code tells why
            self.stop()

    def _relay(self, up, down, count: int, lower: list[bool], marked: list[list[list[str]]], stage: int) -> None:
        """Copy one stage's output to the next, whole segments at a time, marks recorded and removed."""
        sink = down.stdin
        index = 0
        try:
            for segment in _iter_segments(up.stdout, count):
                text = segment.decode("utf-8", "replace")
                marked[index].append(marked_words(text))
                text = remove_marks(text)
                sink.write((lower_initial(text) if lower[index] else text).encode("utf-8") + b"\x00")
                sink.flush()
                index += 1
        except (BrokenPipeError, ValueError):
            pass
        if index < count:  # a stage died: stop the rest, so that nobody waits on it
            self.stop()

    def _failure(self) -> str:
        """Why a batch came back short: the first stage that exited on its own."""
        for mode, process, err in zip(self.modes, self.procs, self._errors):
            try:
                code = process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                continue
            if code != -signal.SIGKILL:
                err.seek(0, os.SEEK_END)
                err.seek(max(0, err.tell() - 2000))
                message = err.read().decode("utf-8", "replace").strip()[-500:]
                return f"apertium {mode} failed (exit {code}): {message}"
        return f"apertium {'+'.join(self.modes)} stopped before the end of the batch"

    def stop(self) -> None:
        """Stop every stage: each `apertium` leads the process group it was started in."""
        for process in self.procs:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for process in self.procs:
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    try:
                        pipe.close()
                    except (BrokenPipeError, OSError, ValueError):
                        pass


def _iter_segments(pipe, count: int):
    """The first `count` NUL-terminated segments read from `pipe` (fewer if it ends)."""
    pending = b""
    while count:
        try:
            chunk = pipe.read1(1 << 16)
        except (OSError, ValueError):  # closed by stop()
            return
        if not chunk:
            return
        pending += chunk
        *done, pending = pending.split(b"\x00")
        for segment in done[:count]:
            yield segment
        count -= min(count, len(done))


def _read_segments(pipe, count: int) -> list[bytes]:
    return list(_iter_segments(pipe, count))


def _stop_all(pipelines: list[_Pipeline], lock: threading.Lock) -> None:
    with lock:
        stopping, pipelines[:] = list(pipelines), []
    for pipeline in stopping:
        pipeline.stop()
        for process in pipeline.procs:
            process.wait()


def marked_words(stream: str) -> list[str]:
    """The words apertium marked as unknown (`*`) or untransferred (`@`) in a stream, in order.

    `#` marks a word the generator could not inflect: it is already in the output
    language (a lemma), so it is no leftover.
    """
    words = []
    tokens = list(_STREAM_TOKEN.finditer(stream))
    for token, following in zip(tokens, tokens[1:]):
        if token.group(3) in ("*", "@") and following.group(5):
            word = _MARKED_WORD.match(following.group(5))
            if word:
                words.append(word.group(0))
    return words


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
