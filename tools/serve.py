"""``make serve``: the live preview, with the Sphinx application kept between builds.

sphinx-autobuild runs a new ``sphinx-build`` for every saved file: Python starts, imports
Sphinx and the extensions, unpickles the environment, builds, pickles it again.  At 1,000
posts that was 5 s from saving a post to the browser showing it, most of it before the
changed page was even read.  Here one worker process keeps a Sphinx application and calls
``app.build()`` again for each change, as ``sphinx.testing`` does with one application
(the site's extensions reset their per-build state when a build starts reading:
``mlnotes_core.per_build``).

* A saved document (a ``.md`` or ``.rst`` file of the project that was there before) is
  built by the worker in memory.
* Anything else starts a new worker, which loads the pickled environment as
  ``sphinx-build`` does: a change to Python code, ``conf.py``, templates, static files, the
  bibliography or images (code and configuration are read when a process starts), and a
  document added or removed (ABlog matches its post files once, at ``config-inited``).
* The worker writes the environment back after every build, as ``sphinx-build`` does, so
  stopping the server loses nothing and ``make html`` after it starts from the same state.

The browser side is sphinx-autobuild's: its middleware adds a script to every HTML page
that reloads the page when told to over a WebSocket; Starlette serves the files, uvicorn
runs the server, watchfiles watches the sources (``_ext/UPSTREAM.md``, row C16).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import sys
import time
import traceback
from pathlib import Path

# Documents the worker builds in memory; any other changed file starts a new worker.
DOCUMENT_SUFFIXES = {".md", ".rst"}
# Never watched: build output, tools' caches, editors' scratch files.
IGNORED_PARTS = {".git", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache"}
IGNORED_SUFFIXES = {".swp", ".swx", ".tmp", "~"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sourcedir", type=Path)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("-d", dest="doctreedir", type=Path, required=True)
    parser.add_argument("-D", dest="define", action="append", default=[], metavar="NAME=VALUE",
                        help="override a configuration value, as sphinx-build -D")
    parser.add_argument("--watch", action="append", default=[], type=Path,
                        help="a directory outside the source directory whose changes restart the worker")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    for name in ("sourcedir", "outdir", "doctreedir"):
        setattr(args, name, getattr(args, name).resolve())
    args.watch = [path.resolve() for path in args.watch]
    return args


# -- the worker: one Sphinx application, built again on request ----------------------------

def worker(conn, sourcedir: Path, outdir: Path, doctreedir: Path, overrides: dict[str, str]) -> None:
    """Build, then answer each request (``"build"``) with a build; ``None`` stops (as does
    Ctrl+C, which the terminal sends to the server and this process alike)."""
    with contextlib.suppress(KeyboardInterrupt, EOFError):
        _serve_builds(conn, sourcedir, outdir, doctreedir, overrides)


def _serve_builds(conn, sourcedir: Path, outdir: Path, doctreedir: Path, overrides: dict[str, str]) -> None:
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    with patch_docutils(sourcedir), docutils_namespace():
        app = Sphinx(sourcedir, sourcedir, outdir, doctreedir, "html", confoverrides=overrides,
                     status=sys.stdout, warning=sys.stderr, keep_going=True)
        request = "build"
        while request is not None:
            started = time.perf_counter()
            try:
                app.build()
                answer = {"ok": app.statuscode == 0, "seconds": time.perf_counter() - started}
            except Exception:  # noqa: BLE001 - the server reports it and starts a new worker
                traceback.print_exc()
                answer = {"ok": False, "broken": True}
            conn.send(answer)
            request = conn.recv()


class Worker:
    """The worker process and the pipe to it."""

    def __init__(self, args: argparse.Namespace):
        overrides = dict(item.split("=", 1) for item in args.define)
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=worker, daemon=True, args=(
            child, args.sourcedir, args.outdir, args.doctreedir, overrides))
        self.process.start()
        child.close()

    def wait(self) -> dict:
        """The answer to the last request (the first build, for a new worker)."""
        try:
            return self.conn.recv()
        except EOFError:
            return {"ok": False, "broken": True}

    def build(self) -> dict:
        self.conn.send("build")
        return self.wait()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(timeout=60)
        if self.process.is_alive():
            self.process.kill()


# -- deciding what a change needs ---------------------------------------------------------

def watched(path: Path, args: argparse.Namespace) -> bool:
    """Whether a change to *path* concerns the preview at all."""
    if path.is_relative_to(args.outdir) or path.is_relative_to(args.doctreedir):
        return False
    inside = next((root for root in [args.sourcedir, *args.watch] if path.is_relative_to(root)), None)
    if inside is None:
        return False
    parts = path.relative_to(inside).parts
    if any(part in IGNORED_PARTS or part.startswith((".venv", "_build")) for part in parts):
        return False
    name = path.name
    return not (name.startswith((".#", "#")) or name.endswith(tuple(IGNORED_SUFFIXES))
                or name.isdigit())   # vim's write test file (4913)


def is_document(path: Path, args: argparse.Namespace) -> bool:
    return path.suffix in DOCUMENT_SUFFIXES and path.is_relative_to(args.sourcedir)


def documents(args: argparse.Namespace) -> set[Path]:
    """The project's documents now (what a change is compared with)."""
    found = set()
    for directory, dirnames, filenames in os.walk(args.sourcedir):
        here = Path(directory)
        dirnames[:] = [name for name in dirnames if watched(here / name, args)]
        found.update(path for name in filenames
                     if is_document(path := here / name, args) and watched(path, args))
    return found


def needs_new_worker(paths: list[Path], known: set[Path], args: argparse.Namespace) -> bool:
    """True unless every changed path is a document that was there and still is (an
    editor's save, however it writes the file), which the worker builds in memory."""
    return any(not is_document(path, args) or path not in known or not path.exists() for path in paths)


# -- the server -----------------------------------------------------------------------------

class Preview:
    """Watches the sources, has the worker build, tells the open pages to reload."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.clients: set[asyncio.Queue] = set()
        self.worker: Worker | None = None
        self.documents = documents(args)

    def say(self, message: str) -> None:
        print(f"[serve] {message}", flush=True)

    async def start(self) -> None:
        self.say("first build")
        self.worker = Worker(self.args)
        answer = await asyncio.to_thread(self.worker.wait)
        self.report(answer)

    def report(self, answer: dict) -> None:
        if answer.get("broken"):
            self.say("the build stopped with an error (above); fix it and save again")
        elif not answer["ok"]:
            self.say("built, with warnings (above)")
        else:
            self.say(f"built in {answer['seconds']:.1f} s; serving http://{self.args.host}:{self.args.port}")

    async def rebuild(self, paths: list[Path]) -> None:
        assert self.worker is not None
        shown = ", ".join(str(p.relative_to(self.args.sourcedir)) if p.is_relative_to(self.args.sourcedir)
                          else str(p) for p in paths[:3])
        new = needs_new_worker(paths, self.documents, self.args)
        self.documents = documents(self.args) if new else self.documents
        if new or not self.worker.process.is_alive():
            self.say(f"{shown} changed: starting a new build process")
            old = self.worker
            await asyncio.to_thread(old.stop)
            self.worker = Worker(self.args)
            answer = await asyncio.to_thread(self.worker.wait)
        else:
            self.say(f"{shown} changed: building")
            answer = await asyncio.to_thread(self.worker.build)
            if answer.get("broken"):   # the next change gets a fresh process
                await asyncio.to_thread(self.worker.stop)
        self.report(answer)
        for queue in list(self.clients):
            queue.put_nowait("refresh")

    async def watch(self) -> None:
        import watchfiles

        roots = [self.args.sourcedir, *self.args.watch]
        async for changes in watchfiles.awatch(
                *roots, watch_filter=lambda _change, path: watched(Path(path), self.args)):
            await self.rebuild(sorted({Path(path) for _, path in changes}))

    async def websocket(self, websocket) -> None:
        await websocket.accept()
        queue: asyncio.Queue = asyncio.Queue()
        self.clients.add(queue)
        try:
            listen = asyncio.ensure_future(self._drain(websocket))
            while not listen.done():
                send = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({send, listen}, return_when=asyncio.FIRST_COMPLETED)
                if send in done:
                    await websocket.send_text(send.result())
                else:
                    send.cancel()
        finally:
            self.clients.discard(queue)

    @staticmethod
    async def _drain(websocket) -> None:
        async for _ in websocket.iter_text():
            pass


def make_app(preview: Preview):
    from contextlib import asynccontextmanager

    from sphinx_autobuild.middleware import JavascriptInjectorMiddleware
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Mount, WebSocketRoute
    from starlette.staticfiles import StaticFiles

    @asynccontextmanager
    async def lifespan(_app):
        task = asyncio.create_task(preview.watch())
        yield
        task.cancel()
        if preview.worker is not None:
            await asyncio.to_thread(preview.worker.stop)

    args = preview.args
    return Starlette(
        routes=[WebSocketRoute("/websocket-reload", preview.websocket),
                Mount("/", app=StaticFiles(directory=args.outdir, html=True))],
        middleware=[Middleware(JavascriptInjectorMiddleware, ws_url=f"{args.host}:{args.port}")],
        lifespan=lifespan)


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    args = parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)
    preview = Preview(args)
    asyncio.run(preview.start())
    uvicorn.run(make_app(preview), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
