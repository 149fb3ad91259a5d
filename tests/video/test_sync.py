"""Recording sync by sound (align.video.sync) on real speech.

The "event" is consecutive CMU ARCTIC cathy prompts (16 kHz) with 0.3 s
pauses; the other recordings are cut from it, resampled (clock drift), passed
through another microphone (telephone band-pass and a short reverb) and noise.
Unrelated recordings are other cathy prompts (the same voice, other words) and
FSDD digits (8 kHz, other voices). The bars: offset within 10 ms, drift within
20 ppm, confidence of true pairs over CONFIDENCE_THRESHOLD and of unrelated
pairs under it.
"""

import argparse
import json

import numpy as np
import pytest
from scipy import signal

from align.exceptions import InfeasibleAlignmentError, ParameterError
from align.video.sync import (
    CONFIDENCE_THRESHOLD,
    SyncResult,
    add_sync_command,
    ffmpeg_edit_list,
    normalized_xcorr,
    sync,
    sync_to_json,
)
from tests.conftest import shared_data

SR = 16000
OFFSET = 3.217
RATIO = 2001 / 2000  # a drifted copy has 1.0005 times the samples: its clock runs 0.05 % fast
DRIFT = (1 / RATIO - 1) * 1e6  # -499.75 ppm


def _concat(files, seconds, sr, gap=0.3):
    import soundfile as sf

    out, total = [], 0
    for f in files:
        x, r = sf.read(f, dtype="float32")
        assert r == sr
        out += [x, np.zeros(int(gap * sr), np.float32)]
        total += len(x) + int(gap * sr)
        if total >= seconds * sr:
            break
    return np.concatenate(out)[: int(seconds * sr)]


@pytest.fixture(scope="module")
def speech():
    cathy = sorted(shared_data("data/speech/cathy").glob("*.flac"))
    fsdd = sorted(shared_data("data/speech/fsdd").glob("*_jackson_*.flac"))
    assert len(cathy) > 400 and len(fsdd) > 40
    return {
        "event": _concat(cathy[:60], 75.0, SR),  # ~75 s of one event
        "long": _concat(cathy[:200], 300.0, SR),  # 5 minutes (the chunked coarse step)
        "other": _concat(cathy[300:360], 40.0, SR),  # the same voice, other prompts
        "other2": _concat(cathy[600:660], 80.0, SR),
        "digits": _concat(fsdd[:80], 25.0, 8000, gap=0.1),  # other voices, 8 kHz
    }


# ------------------------------------------------------------------ degradations


def drift(x, up=2001, down=2000):
    return signal.resample_poly(x, up, down).astype(np.float32)


def other_mic(x, seed=1, drr_db=0.0):
    """Telephone band (2nd-order Butterworth 300-3400 Hz) and a 0.2 s reverb.

    The impulse response is the direct sound plus exponentially decaying noise
    (time constant 30 ms, RT60 about 0.2 s) at ``drr_db`` direct-to-reverberant ratio.
    """
    rng = np.random.default_rng(seed)
    b, a = signal.butter(2, [300, 3400], btype="band", fs=SR)
    y = signal.lfilter(b, a, x)
    n = int(0.2 * SR)
    tail = rng.standard_normal(n - 1) * np.exp(-np.arange(1, n) / (0.03 * SR))
    tail *= np.sqrt(10 ** (-drr_db / 10) / np.sum(tail ** 2))
    h = np.concatenate(([1.0], tail))
    return signal.fftconvolve(y, h)[: len(x)].astype(np.float32)


def noisy(x, snr_db=10.0, seed=2):
    rng = np.random.default_rng(seed)
    p = np.mean(np.asarray(x, np.float64) ** 2)
    return (x + rng.standard_normal(len(x)) * np.sqrt(p / 10 ** (snr_db / 10))).astype(np.float32)


def cut(x, start, seconds):
    return x[int(round(start * SR)): int(round((start + seconds) * SR))]


# ------------------------------------------------------------------ built pairs
# Each builder returns (reference samples, recording samples, true offset, true drift_ppm).


def pair_b_inside_a(ev):  # (a)
    return ev, cut(ev, OFFSET, 50.0), OFFSET, 0.0


def pair_a_inside_b(ev):  # (b): the reference lies inside the recording
    ref = cut(ev, OFFSET, 50.0)
    return ref, ev, -OFFSET, 0.0


def pair_drift(ev):  # (c)
    return ev, drift(cut(ev, OFFSET, 50.0)), OFFSET, DRIFT


def pair_mic(ev):  # (d)
    return ev, other_mic(cut(ev, OFFSET, 50.0)), OFFSET, 0.0


def pair_noise(ev):  # (e)
    return ev, noisy(cut(ev, OFFSET, 50.0)), OFFSET, 0.0


def pair_all(ev):  # (c) + (d) + (e)
    return ev, noisy(other_mic(drift(cut(ev, OFFSET, 50.0)))), OFFSET, DRIFT


def pair_all_inside(ev):  # (b) + (c) + (d) + (e): the clean reference inside a drifted noisy take
    ref = cut(ev, 10.0, 40.0)
    rec = noisy(other_mic(drift(ev)))
    # rec time t_r = RATIO * t_ev, reference time = t_ev - 10
    return ref, rec, -10.0, DRIFT


def pair_reverse_drift(ev):  # the reference drifts instead: its clock runs 0.05 % slow
    ref = drift(ev, 1999, 2000)
    rec = noisy(cut(ev, 20.0, 45.0), seed=5)
    r = 1999 / 2000  # t_ref = r * t_ev = r * (t_rec + 20)
    return ref, rec, 20.0 * r, (r - 1) * 1e6


def pair_reverb_low_drr(ev):  # a farther microphone: reverberant sound 5 dB over the direct sound
    return ev, noisy(other_mic(cut(ev, 7.5, 55.0), seed=3, drr_db=-5.0)), 7.5, 0.0


def pair_short_clip(ev):  # 10 s from a phone across the room (drift cannot be told in 10 s)
    return ev, noisy(other_mic(cut(ev, 41.3, 10.0), seed=4)), 41.3, 0.0


PAIRS = [pair_short_clip, pair_b_inside_a, pair_a_inside_b, pair_drift, pair_mic, pair_noise, pair_all,
         pair_all_inside, pair_reverse_drift, pair_reverb_low_drr]

# measured results, filled by the tests and printed at the end (pytest -s)
_REPORT = {}


@pytest.mark.parametrize("build", PAIRS, ids=lambda f: f.__name__[5:])
def test_built_pairs_within_10ms_and_20ppm(speech, build):
    ref, rec, offset, drift_ppm = build(speech["event"])
    r_ref, r = sync([(ref, SR), (rec, SR)])
    _REPORT[build.__name__] = (r.offset - offset, r.drift_ppm - drift_ppm, r.confidence, r.psr)
    assert (r_ref.offset, r_ref.drift_ppm, r_ref.confidence) == (0.0, 0.0, 1.0)
    assert abs(r.offset - offset) < 0.010, (r.offset, offset)
    assert abs(r.drift_ppm - drift_ppm) < 20.0, (r.drift_ppm, drift_ppm)
    assert r.confidence > CONFIDENCE_THRESHOLD and r.reliable
    # the map's error stays under 10 ms over the whole overlap
    t_end = r.from_reference(r.overlap[1])
    truth = offset + t_end * (1 + drift_ppm * 1e-6)
    assert abs(r.to_reference(t_end) - truth) < 0.010
    # the overlap, in reference time
    dur_rec = len(rec) / SR
    lo = max(0.0, offset)
    hi = min(len(ref) / SR, offset + dur_rec * (1 + drift_ppm * 1e-6))
    assert r.overlap == pytest.approx((lo, hi), abs=0.02)


def test_path_is_monotone_and_follows_the_map(speech):
    ref, rec, offset, drift_ppm = pair_all(speech["event"])
    r = sync([(ref, SR), (rec, SR)])[1]
    p = r.path
    assert p.dtype == np.int64 and p.ndim == 2 and p.shape[1] == 2 and len(p) > 500
    assert (p[:, 0] >= 0).all() and (p[:, 1] >= 0).all()
    assert p[:, 0].max() < len(rec) / SR * r.frame_rate and p[:, 1].max() < len(ref) / SR * r.frame_rate
    # monotone within each DTW piece; pieces follow each other
    assert (np.diff(p[:, 0]) >= 0).all() and (np.diff(p[:, 1]) >= -1).sum() == len(p) - 1
    # most pairs lie within 2 frames (40 ms) of the fitted map
    t_rec = p[:, 0] / r.frame_rate
    t_ref = p[:, 1] / r.frame_rate
    assert np.mean(np.abs(r.to_reference(t_rec) - t_ref) <= 0.040) > 0.8


def test_long_recordings_with_drift_use_the_chunked_coarse_step(speech):
    # 5 minutes, 0.1 % drift: the ends are 0.3 s apart, more than one coarse frame
    ev = speech["long"]
    rec = noisy(other_mic(drift(cut(ev, 20.0, 270.0), 1001, 1000)))
    r = sync([(ev, SR), (rec, SR)])[1]
    want = (1000 / 1001 - 1) * 1e6
    _REPORT["long_5min_1000ppm"] = (r.offset - 20.0, r.drift_ppm - want, r.confidence, r.psr)
    assert abs(r.offset - 20.0) < 0.010
    assert abs(r.drift_ppm - want) < 20.0
    assert r.reliable


UNRELATED = {
    "other_cathy": lambda s: (s["event"], s["other"]),
    "other_cathy_noisy_mic": lambda s: (noisy(s["event"]), noisy(other_mic(s["other2"]))),
    "fsdd_vs_cathy": lambda s: (s["event"], (s["digits"], 8000)),
    "cathy_inside_fsdd_long": lambda s: (s["other"], (np.tile(s["digits"], 3), 8000)),
}


@pytest.mark.parametrize("name", list(UNRELATED))
def test_unrelated_recordings_get_low_confidence(speech, name):
    ref, rec = UNRELATED[name](speech)
    rec = rec if isinstance(rec, tuple) else (rec, SR)
    r = sync([(ref, SR), rec])[1]
    _REPORT["unrelated_" + name] = (np.nan, np.nan, r.confidence, r.psr)
    assert r.confidence < CONFIDENCE_THRESHOLD and not r.reliable
    assert r.confidence < 0.1  # not a near miss
    with pytest.raises(InfeasibleAlignmentError, match=r"does not reliably overlap the reference"):
        sync([(ref, SR), rec], min_confidence=CONFIDENCE_THRESHOLD)


def test_several_recordings_and_another_reference(speech):
    ev = speech["event"]
    b = noisy(cut(ev, OFFSET, 50.0))
    c = other_mic(cut(ev, 30.0, 30.0))
    u = speech["other"]
    results = sync([(b, SR), (ev, SR), (c, SR), (u, SR)], reference=1)
    assert [r.name for r in results] == [f"recording {i}" for i in range(4)]
    assert results[1].offset == 0.0 and results[1].path.shape == (0, 2)
    assert abs(results[0].offset - OFFSET) < 0.010
    assert abs(results[2].offset - 30.0) < 0.010
    assert [r.reliable for r in results] == [True, True, True, False]
    # reference=-1 counts from the end; with b as reference, ev lies at -OFFSET
    r = sync([(ev, SR), (b, SR)], reference=-1)
    assert abs(r[0].offset + OFFSET) < 0.010 and r[1].offset == 0.0


def test_files_and_sign_convention_example(tmp_path, speech):
    import soundfile as sf

    ev = speech["event"]
    # the camera was switched on 3.217 s after the recorder: offset +3.217
    sf.write(tmp_path / "recorder.wav", ev, SR)
    sf.write(tmp_path / "camera.flac", drift(cut(ev, OFFSET, 40.0)), SR)
    rec, cam = sync([tmp_path / "recorder.wav", str(tmp_path / "camera.flac")])
    assert (rec.name, cam.name) == ("recorder.wav", "camera.flac")
    assert cam.source == str(tmp_path / "camera.flac")
    assert abs(cam.offset - OFFSET) < 0.010 and abs(cam.drift_ppm - DRIFT) < 20
    # the camera's 10 s is the recorder's 13.217 s (plus the drift)
    assert cam.to_reference(10.0) == pytest.approx(OFFSET + 10.0 * (1 + DRIFT * 1e-6), abs=0.01)
    assert cam.from_reference(cam.to_reference(10.0)) == pytest.approx(10.0)
    # the other way round: the recorder starts before the camera, at camera time -3.217 s
    cam2, rec2 = sync([tmp_path / "camera.flac", tmp_path / "recorder.wav"])
    assert abs(rec2.offset + OFFSET * RATIO) < 0.010 and abs(rec2.drift_ppm + DRIFT) < 25


def _write_video(path, audio, sr=SR, fps=10):
    """A tiny H.264 picture track and ``audio`` as an AAC track (PyAV)."""
    import av

    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = 32, 32, "yuv420p"
        vs.options = {"preset": "ultrafast"}
        aus = out.add_stream("aac", rate=sr, layout="mono")
        for i in range(int(len(audio) / sr * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i % 256, np.uint8), format="rgb24")
            frame.pts = i
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode(None):
            out.mux(packet)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[None, :]), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = sr, 0
        for packet in aus.encode(frame):
            out.mux(packet)
        for packet in aus.encode(None):
            out.mux(packet)


def test_video_file_soundtrack(tmp_path, speech):
    pytest.importorskip("av")
    ev = speech["event"]
    _write_video(tmp_path / "camera.mp4", noisy(cut(ev, OFFSET, 20.0)))
    ref, cam = sync([(ev, SR), tmp_path / "camera.mp4"])
    # the AAC encoder's priming samples must not shift the soundtrack
    assert cam.name == "camera.mp4" and abs(cam.offset - OFFSET) < 0.002 and cam.reliable


# ------------------------------------------------------------------ the coarse step against brute force


def _brute_xcorr(x, y, min_overlap):
    """z(k) by explicit loops (independent of the FFT formulation)."""
    nx, ny = len(x), len(y)
    lags, zs = [], []
    for k in range(-(nx - min_overlap), ny - min_overlap + 1):
        pairs = [(x[n], y[n + k]) for n in range(nx) if 0 <= n + k < ny]
        a = np.array([p[0] for p in pairs])
        b = np.array([p[1] for p in pairs])
        den = np.sqrt(np.dot(a, a) * np.dot(b, b))
        lags.append(k)
        zs.append(np.dot(a, b) / den * np.sqrt(len(pairs)) if den > 0 else 0.0)
    return np.array(lags), np.array(zs)


@pytest.mark.parametrize("nx,ny,min_overlap", [(7, 11, 3), (11, 7, 1), (5, 5, 5), (9, 4, 2)])
def test_normalized_xcorr_matches_brute_force(rng, nx, ny, min_overlap):
    x = rng.standard_normal(nx)
    y = rng.standard_normal(ny)
    lags, z = normalized_xcorr(x, y, min_overlap)
    blags, bz = _brute_xcorr(x, y, min_overlap)
    np.testing.assert_array_equal(lags, blags)
    np.testing.assert_allclose(z, bz, rtol=1e-9, atol=1e-12)


def test_normalized_xcorr_finds_a_planted_copy_either_way(rng):
    y = rng.standard_normal(60)
    x = y[17:37] + 0.1 * rng.standard_normal(20)  # x[n] = y[n + 17]
    lags, z = normalized_xcorr(x, y, 10)
    assert lags[np.argmax(z)] == 17
    lags, z = normalized_xcorr(y, x, 10)  # y[n] = x[n - 17]
    assert lags[np.argmax(z)] == -17
    blags, bz = _brute_xcorr(y, x, 10)
    assert blags[np.argmax(bz)] == -17


def test_coarse_step_agrees_with_a_numpy_correlation(rng):
    # noise bursts; the recording starts 2.5 s into the reference; the coarse map alone
    # (before DTW and the fine step) must land within one coarse frame (40 ms)
    from align.video.sync import _coarse, _features

    sr = 8000
    env = np.repeat(rng.random(200) > 0.6, sr // 10)
    ref = (rng.standard_normal(len(env)) * env).astype(np.float32)
    rec = ref[int(2.5 * sr): int(14.5 * sr)]
    k, s, psr = _coarse(_features(rec, sr), _features(ref, sr), 5.0)
    assert s == 1.0 and abs(k / 50 - 2.5) <= 0.04 and psr > 6
    # the same lag from numpy's direct correlation of the 25 Hz envelopes
    fx, fy = _features(rec, sr).env, _features(ref, sr).env
    x = fx[: len(fx) // 2 * 2].reshape(-1, 2).mean(axis=1)
    y = fy[: len(fy) // 2 * 2].reshape(-1, 2).mean(axis=1)
    full = np.correlate(y, x, mode="valid")  # rec wholly inside ref: lags 0 .. ny - nx
    assert abs(int(np.argmax(full)) * 2 - k) <= 2


# ------------------------------------------------------------------ errors


def test_bad_input_raises_parameter_error(speech):
    ev = speech["event"]
    with pytest.raises(ParameterError, match=r"at least two recordings .* got 1"):
        sync([(ev, SR)])
    with pytest.raises(ParameterError, match=r"a list of at least two recordings .* got a single recording"):
        sync((ev, SR))
    with pytest.raises(ParameterError, match=r"reference=2 is out of range for 2 recordings; use 0 to 1"):
        sync([(ev, SR), (ev, SR)], reference=2)
    with pytest.raises(ParameterError, match=r"reference must be an index \(int\), got 'a'"):
        sync([(ev, SR), (ev, SR)], reference="a")
    with pytest.raises(ParameterError, match=r"recording 1 \(recording 1\) is silent"):
        sync([(ev, SR), (np.zeros(5 * SR, np.float32), SR)])
    with pytest.raises(ParameterError, match=r"recording 0 \(recording 0\) lasts 1.000 s; sync needs at least 2 s"):
        sync([(ev[:SR], SR), (ev, SR)])
    with pytest.raises(ParameterError, match=r"sample_rate must be a multiple of 50 Hz"):
        sync([(ev, SR), (ev, SR)], sample_rate=11025)
    with pytest.raises(ParameterError, match=r"min_confidence must be in \[0, 1\] or None, got .x."):
        sync([(ev, SR), (ev, SR)], min_confidence="x")
    with pytest.raises(ParameterError, match=r"min_overlap must be > 0 seconds"):
        sync([(ev, SR), (ev, SR)], min_overlap=0)
    bad = ev.copy()
    bad[100] = np.nan
    with pytest.raises(ParameterError, match=r"must be finite, found nan at index 100"):
        sync([(ev, SR), (bad, SR)])
    with pytest.raises(ParameterError, match=r"does not exist"):
        sync([(ev, SR), "/no/such/file.wav"])


# ------------------------------------------------------------------ outputs


def _results():
    z = np.zeros((0, 2), dtype=np.int64)
    return [SyncResult(0.0, 0.0, 1.0, z, name="a.wav", source="a.wav", sample_rate=16000,
                       overlap=(0.0, 60.0), duration=60.0),
            SyncResult(-2.5, 500.0, 0.9, np.array([[0, 125], [1, 126]]), name="b.wav", source="b.wav",
                       sample_rate=48000, overlap=(0.0, 40.0), duration=42.5),
            SyncResult(4.0, 0.2, 0.8, z, name="c.wav", source="c.wav", sample_rate=16000)]


def test_ffmpeg_edit_list():
    args = ffmpeg_edit_list(_results())
    assert args == ["ffmpeg",
                    "-itsoffset", "2.500000", "-i", "a.wav",
                    "-itsoffset", "0.000000", "-i", "b.wav",
                    "-itsoffset", "6.500000", "-i", "c.wav",
                    "-filter_complex", "[1:a:0]atempo=0.999500250[a1]",
                    "-map", "0:a:0", "-map", "[a1]", "-map", "2:a:0", "synced.mkv"]
    args = ffmpeg_edit_list(_results(), drift="asetrate", video=True, output="o.mp4",
                            inputs=["x.wav", "y.mov", "z.mp4"])
    fc = args[args.index("-filter_complex") + 1]
    assert fc == ("[1:a:0]asetrate=47976.011994,aresample=48000[a1];"
                  "[1:v:0]setpts=(PTS-STARTPTS)*1.000500000+STARTPTS[v1]")
    assert args[-1] == "o.mp4" and "2:v:0" in args and "y.mov" in args
    # an unreliable result is left out unless asked for
    weak = _results() + [SyncResult(9.0, 0.0, 0.1, np.zeros((0, 2)), source="u.wav")]
    assert "u.wav" not in ffmpeg_edit_list(weak)
    assert "u.wav" in ffmpeg_edit_list(weak, reliable_only=False)
    with pytest.raises(ParameterError, match=r"no result is reliable"):
        ffmpeg_edit_list(weak[3:])
    no_source = [SyncResult(0.0, 0.0, 1.0, np.zeros((0, 2)))] * 2
    with pytest.raises(ParameterError, match=r"pass inputs=\[...\] for recordings given as samples"):
        ffmpeg_edit_list(no_source)
    with pytest.raises(ParameterError, match=r"drift must be 'atempo' or 'asetrate', got 'x'"):
        ffmpeg_edit_list(_results(), drift="x")


def test_sync_to_json(tmp_path):
    out = tmp_path / "sync.json"
    out.write_text("old")
    sync_to_json(_results(), out)
    doc = json.loads(out.read_text())
    assert doc["threshold"] == CONFIDENCE_THRESHOLD and doc["convention"].startswith("t_ref = offset")
    b = doc["recordings"][1]
    assert (b["name"], b["offset"], b["drift_ppm"], b["confidence"], b["reliable"]) == ("b.wav", -2.5, 500.0, 0.9, True)
    assert b["path"] == [[0, 125], [1, 126]] and doc["recordings"][2]["overlap"] == [None, None]
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left
    with pytest.raises(ParameterError, match=r"the directory .* does not exist"):
        sync_to_json(_results(), tmp_path / "missing" / "sync.json")
    with pytest.raises(ParameterError, match=r"results must be a non-empty list of SyncResult"):
        sync_to_json([], out)
    assert json.loads(out.read_text()) == doc  # a failed write leaves the file as it was


def test_cli_command(tmp_path, speech, capsys):
    import soundfile as sf

    ev = speech["event"]
    sf.write(tmp_path / "a.wav", ev, SR)
    sf.write(tmp_path / "b.wav", noisy(cut(ev, OFFSET, 30.0)), SR)
    sf.write(tmp_path / "u.wav", speech["other"], SR)
    parser = argparse.ArgumentParser(prog="align")
    sub = parser.add_subparsers(dest="command", required=True)
    add_sync_command(sub)
    out = tmp_path / "sync.json"
    args = parser.parse_args(["sync", str(tmp_path / "a.wav"), str(tmp_path / "b.wav"),
                              str(tmp_path / "u.wav"), "-o", str(out), "--ffmpeg"])
    assert args.func(args) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split()[:4] == ["recording", "offset", "s", "drift"]
    row = lines[2].split()
    assert row[0] == "b.wav" and abs(float(row[1]) - OFFSET) < 0.010
    assert "u.wav" in lines[3] and "(no reliable overlap)" in lines[3]
    ff = [line for line in lines if line.startswith("ffmpeg -itsoffset")]
    assert len(ff) == 1 and "b.wav" in ff[0] and "u.wav" not in ff[0]
    assert "some recordings found no reliable overlap" in captured.err
    doc = json.loads(out.read_text())
    assert [r["name"] for r in doc["recordings"]] == ["a.wav", "b.wav", "u.wav"]
    args = parser.parse_args(["sync", str(tmp_path / "a.wav")])
    with pytest.raises(ParameterError, match=r"align sync needs at least two recordings, got 1"):
        args.func(args)


def test_zz_report():
    """Print the measured figures (run with -s to see them)."""
    for k, (eo, ed, c, psr) in _REPORT.items():
        print(f"{k:32s} offset err {eo * 1e3:8.3f} ms  drift err {ed:8.2f} ppm  confidence {c:.3f}  PSR {psr:6.2f}")
