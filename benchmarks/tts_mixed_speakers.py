"""One phone model for two voices, against one for each (issue 14, ``train_phone_model="folder"``).

Trains :func:`align.train_phone_model` on 200 cathy files alone, and on the same 200 with
200 other cathy prompts spoken by an espeak-ng male voice (en-us m3, 160 wpm), then aligns
the 50 cathy files of the bar with each model and counts the word boundaries within 25 /
50 / 100 ms of the acoustic-model aligner. Run: ``python benchmarks/tts_mixed_speakers.py``.
"""

import time
from pathlib import Path

import numpy as np

CATHY = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speech" / "cathy"


def main():
    import align
    from align.text.espeak_synth import synthesize

    files = sorted(CATHY.glob("*.flac"))
    bar = files[:: len(files) // 50][:50]
    cathy = [(f, f.with_suffix(".txt")) for f in files[::8][:200]]
    other_voice = []
    for f in files[3::8][:200]:
        text = f.with_suffix(".txt").read_text()
        rec = synthesize(text, language="en-us", rate=160, variant="m3")
        other_voice.append(((rec.samples, rec.sample_rate), text))
    t = time.perf_counter()
    models = {"cathy's 200 files": align.train_phone_model(cathy, jobs=2),
              "the same and 200 files of another voice": align.train_phone_model(cathy + other_voice, jobs=2)}
    print(f"two models trained in {time.perf_counter() - t:.0f} s")
    reference = {f: align.align_transcript(f, f.with_suffix(".txt").read_text()).words for f in bar}
    for name, model in models.items():
        errors = []
        for f in bar:
            got = align.align_transcript(f, f.with_suffix(".txt").read_text(), method="tts", phone_model=model).words
            if len(got) == len(reference[f]):
                errors += [d for a, b in zip(got, reference[f]) for d in (abs(a.start - b.start), abs(a.end - b.end))]
        e = np.round(np.array(errors), 6)
        print(f"  model of {name}: the bar's 50 files within 25 / 50 / 100 ms of the acoustic aligner: "
              + " / ".join(f"{100 * np.mean(e <= ms / 1000):.1f}%" for ms in (25, 50, 100)))


if __name__ == "__main__":
    main()
