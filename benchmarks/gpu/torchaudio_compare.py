"""Compare align.forced_align with torchaudio.functional.forced_align (CPU and CUDA).

Run on a machine with a GPU, torch, torchaudio (2.11 tested by design) and
fusealign installed::

    python benchmarks/gpu/torchaudio_compare.py

What it checks and prints (it finishes in well under two minutes):

1. CPU exactness: on random inputs (float32 and float64, int32 and int64
   targets, continuous scores and deliberately tied scores, with repeats)
   our paths and scores (default ``tie_break="torchaudio"``) must equal
   torchaudio's CPU output bit for bit. Any mismatch is printed and the script
   exits with status 1. ``tie_break="optimal"`` is run on the same items: it
   may differ on ties, but its path must never score below torchaudio's.
2. Hand-made ties: the expected paths of both rules, torchaudio CPU and
   torchaudio CUDA side by side. torchaudio takes the advance only if it is
   strictly greater than both the stay and the skip, so on an advance/skip tie
   above the stay it keeps the worse stay. Its CUDA kernel also renormalises
   its scores each frame, so CUDA mismatches are reported, not failed,
   together with the path log-scores, so a suboptimal torchaudio path shows.
3. float16: torchaudio accumulates in float16, we accumulate in float32; the
   agreement rate is reported.
4. Timings (median of a few runs, after a warm-up): 256 x (T=1000, L=200,
   C=30) as torchaudio's per-item loop vs one batched call of ours, and
   1 x (T=30000, L=5000). Our CUDA-tensor path currently computes on the CPU
   and copies back; its time includes both transfers.

Only torch, numpy, torchaudio and align are imported; torchaudio is imported
inside :func:`main`, so the helpers can be tested without it.
"""

import statistics
import sys
import time
import warnings

import torch

LABEL_TIE_VALUES = (-4.0, -2.0, -1.0, -0.5)


def random_case(gen, T, L, C, ties, dtype, target_dtype=torch.int32, blank=0):
    """One random feasible item: log_probs (1, T, C) and targets (1, L) without blank.

    Targets repeat the previous label with probability 0.25; if then
    T < L + R, labels are dropped from the end until the item is feasible
    (never for L <= T // 2 + 1). With ``ties`` the log-probs
    take only the few values of LABEL_TIE_VALUES, so many paths tie exactly.
    """
    labels = [c for c in range(C) if c != blank]
    picks = torch.randint(0, len(labels), (L,), generator=gen)
    tg = [labels[int(i)] for i in picks]
    repeat = torch.rand(L, generator=gen) < 0.25
    for i in range(1, L):
        if repeat[i]:
            tg[i] = tg[i - 1]
    while tg and T < len(tg) + sum(tg[k] == tg[k - 1] for k in range(1, len(tg))):
        tg.pop()  # too many repeats for T: shorten the transcript
    L = len(tg)
    if ties:
        idx = torch.randint(0, len(LABEL_TIE_VALUES), (1, T, C), generator=gen)
        lp = torch.tensor(LABEL_TIE_VALUES, dtype=dtype)[idx]
    else:
        lp = torch.log_softmax(torch.randn((1, T, C), generator=gen, dtype=torch.float64), -1).to(dtype)
    return lp.contiguous(), torch.tensor([tg], dtype=target_dtype).reshape(1, L)


def hand_tie_cases():
    """(name, log_probs (1, T, C) float32, targets (1, L) int32, expected torchaudio, expected optimal)."""
    def case(name, rows, tg, expected_ta, expected_opt):
        return (name, torch.tensor([rows], dtype=torch.float32), torch.tensor([tg], dtype=torch.int32),
                expected_ta, expected_opt)

    return [
        case("all paths tie: stay, end on last label", [[0.0] * 3] * 4, [1], [1, 1, 1, 1], [1, 1, 1, 1]),
        case("advance == skip > stay", [[-1, 0, -9], [-1, -1, -5], [-9, -9, 0]], [1, 2],
             [1, 2, 2], [1, 0, 2]),
        case("stay == skip > advance: stay", [[-9, 0, -9], [-9, -1, -1], [-9, -9, 0]], [1, 2],
             [1, 2, 2], [1, 2, 2]),
        case("stay == advance: stay", [[0, 0], [-9, 0]], [1], [1, 1], [1, 1]),
        case("final blank == last label: last label", [[-9, 0], [-1, -1]], [1], [1, 1], [1, 1]),
    ]


def count_mismatches(a, b):
    """(items that differ, frames that differ) between two (B, T) tensors."""
    diff = (a.cpu() != b.cpu())
    return int(diff.any(dim=1).sum()), int(diff.sum())


def path_score(log_probs, path):
    """Sum of log_probs[0, t, path[t]] in float64."""
    lp = log_probs[0].detach().cpu().double()
    p = path.reshape(-1).cpu().long()
    return float(lp[torch.arange(lp.shape[0]), p].sum())


def _median_time(fn, repeat, cuda):
    fn()  # warm-up (JIT, CUDA context)
    times = []
    for _ in range(repeat):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def check_cpu_exact(ta_align, our_align, gen):
    """Our default output must be bit-identical to torchaudio's CPU output.

    Also counts the items where ``tie_break="optimal"`` differs and checks that
    its path is never worse than torchaudio's.
    """
    failures = 0
    n = differ_opt = better_opt = 0
    for dtype in (torch.float32, torch.float64):
        for target_dtype in (torch.int32, torch.int64):
            for ties in (False, True):
                for _ in range(25):
                    T = int(torch.randint(1, 120, (1,), generator=gen))
                    L = int(torch.randint(1, max(2, T // 2), (1,), generator=gen))
                    C = int(torch.randint(2, 12, (1,), generator=gen))
                    lp, tg = random_case(gen, T, L, C, ties, dtype, target_dtype)
                    ta_paths, ta_scores = ta_align(lp, tg, blank=0)
                    paths, scores = our_align(lp, tg, blank=0)
                    n += 1
                    ok = (paths.dtype == ta_paths.dtype and scores.dtype == ta_scores.dtype
                          and torch.equal(paths, ta_paths) and torch.equal(scores, ta_scores))
                    if not ok:
                        failures += 1
                        if failures <= 5:
                            print(f"  MISMATCH {dtype} {target_dtype} ties={ties} T={T} L={L} C={C}")
                            print(f"    targets {tg.tolist()}")
                            print(f"    ours    {paths.tolist()}")
                            print(f"    torch   {ta_paths.tolist()}")
                    opt_paths, _ = our_align(lp, tg, blank=0, tie_break="optimal")
                    if not torch.equal(opt_paths, ta_paths):
                        differ_opt += 1
                        ours_s, theirs_s = path_score(lp, opt_paths), path_score(lp, ta_paths)
                        better_opt += ours_s > theirs_s + 1e-9
                        if ours_s < theirs_s - 1e-6:
                            failures += 1
                            print(f"  ERROR: tie_break='optimal' scored {ours_s} < torchaudio {theirs_s}")
    print(f"CPU exactness: {n - failures}/{n} random items identical (paths and scores)")
    print(f"tie_break='optimal': differs from torchaudio on {differ_opt}/{n} items, "
          f"with a strictly better path on {better_opt} of them")
    return failures


def check_hand_cases(ta_align, our_align, cuda):
    failures = 0
    print("Hand-made ties: ours (default), ours (optimal), torchaudio CPU[, CUDA]:")
    for name, lp, tg, expected_ta, expected_opt in hand_tie_cases():
        ours = our_align(lp, tg)[0][0].tolist()
        ours_opt = our_align(lp, tg, tie_break="optimal")[0][0].tolist()
        ta_cpu = ta_align(lp, tg)[0][0].tolist()
        line = f"  {name:40s} ours {ours} optimal {ours_opt} ta-cpu {ta_cpu}"
        if cuda:
            ta_gpu = ta_align(lp.cuda(), tg.cuda())[0][0].tolist()
            line += f" ta-cuda {ta_gpu}"
        line += f" (scores: torchaudio rule {path_score(lp, torch.tensor(expected_ta)):.2f}, " \
                f"optimal {path_score(lp, torch.tensor(expected_opt)):.2f})"
        print(line)
        failures += (ours != expected_ta) + (ta_cpu != expected_ta) + (ours_opt != expected_opt)
    return failures


def check_cuda(ta_align, our_align, gen):
    """Report agreement with torchaudio CUDA and whether its paths are ever worse."""
    for ties in (False, True):
        same = worse = better = n = 0
        for _ in range(30):
            T = int(torch.randint(2, 200, (1,), generator=gen))
            L = int(torch.randint(1, max(2, T // 2), (1,), generator=gen))
            lp, tg = random_case(gen, T, L, 8, ties, torch.float32)
            lp_d, tg_d = lp.cuda(), tg.cuda()
            ta_paths, _ = ta_align(lp_d, tg_d)
            paths, scores = our_align(lp_d, tg_d)
            assert paths.device == lp_d.device and scores.device == lp_d.device
            n += 1
            if torch.equal(paths, ta_paths):
                same += 1
                continue
            ours_s, theirs_s = path_score(lp, paths), path_score(lp, ta_paths)
            if theirs_s < ours_s - 1e-4:
                worse += 1
            elif theirs_s > ours_s + 1e-4:
                better += 1
        print(f"CUDA ({'tied' if ties else 'continuous'} scores): {same}/{n} identical paths; "
              f"torchaudio CUDA path strictly worse on {worse}, strictly better on {better}")
        if better:
            print("  ERROR: torchaudio CUDA found a better path than ours")
            return 1
    return 0


def check_float16(ta_align, our_align, gen):
    same = n = 0
    for _ in range(30):
        lp, tg = random_case(gen, 200, 40, 10, False, torch.float16)
        n += 1
        same += torch.equal(our_align(lp, tg)[0], ta_align(lp, tg)[0])
    print(f"float16 (torchaudio accumulates in float16, we in float32): {same}/{n} identical paths")


def timings(ta_align, our_align, cuda):
    gen = torch.Generator().manual_seed(1)
    B, T, L, C = 256, 1000, 200, 30
    lp = torch.log_softmax(torch.randn((B, T, C), generator=gen), -1)
    tg = torch.randint(1, C, (B, L), generator=gen, dtype=torch.int32)
    cells = B * T * (2 * L + 1)
    rows = []

    def loop(lp_, tg_):
        return [ta_align(lp_[b:b + 1], tg_[b:b + 1]) for b in range(lp_.shape[0])]

    rows.append(("256x(T1k,L200) torchaudio CPU, loop of B=1", _median_time(lambda: loop(lp, tg), 3, False)))
    rows.append(("256x(T1k,L200) align CPU, torch tensors", _median_time(lambda: our_align(lp, tg), 5, False)))
    lp_np, tg_np = lp.numpy(), tg.numpy()
    rows.append(("256x(T1k,L200) align CPU, numpy arrays", _median_time(lambda: our_align(lp_np, tg_np), 5, False)))
    if cuda:
        lp_d, tg_d = lp.cuda(), tg.cuda()
        rows.append(("256x(T1k,L200) torchaudio CUDA, loop of B=1",
                     _median_time(lambda: loop(lp_d[:32], tg_d[:32]), 1, True) * B / 32))
        rows.append(("256x(T1k,L200) align, CUDA tensors (CPU compute)",
                     _median_time(lambda: our_align(lp_d, tg_d), 3, True)))
    for name, sec in rows:
        print(f"  {name:52s} {sec * 1e3:9.1f} ms  {cells / sec / 1e9:7.2f} G cells/s")
    # the batched call must give each item torchaudio's own answer
    paths, scores = our_align(lp, tg)
    items, frames = count_mismatches(paths, torch.cat([p for p, _ in loop(lp, tg)]))
    print(f"  256x(T1k,L200) batched paths vs torchaudio per item: {B - items}/{B} identical")
    failures = items

    T, L = 30000, 5000
    lp1 = torch.log_softmax(torch.randn((1, T, C), generator=gen), -1)
    tg1 = torch.randint(1, C, (1, L), generator=gen, dtype=torch.int32)
    cells = T * (2 * L + 1)
    rows = [("1x(T30k,L5k) torchaudio CPU", _median_time(lambda: ta_align(lp1, tg1), 2, False)),
            ("1x(T30k,L5k) align CPU", _median_time(lambda: our_align(lp1, tg1), 3, False))]
    same = torch.equal(ta_align(lp1, tg1)[0], our_align(lp1, tg1)[0])
    if cuda:
        lp1_d, tg1_d = lp1.cuda(), tg1.cuda()
        rows.append(("1x(T30k,L5k) torchaudio CUDA", _median_time(lambda: ta_align(lp1_d, tg1_d), 1, True)))
    for name, sec in rows:
        print(f"  {name:52s} {sec * 1e3:9.1f} ms  {cells / sec / 1e9:7.2f} G cells/s")
    print(f"  1x(T30k,L5k) paths identical to torchaudio CPU: {same}")
    return failures + (not same)


def main():
    warnings.filterwarnings("ignore")
    try:
        import torchaudio
        from torchaudio.functional import forced_align as ta_align
    except Exception as exc:  # not installed, or forced_align removed
        print(f"torchaudio.functional.forced_align is unavailable: {exc!r}")
        return 2
    import numba

    import align
    from align import forced_align as our_align

    cuda = torch.cuda.is_available()
    print(f"torch {torch.__version__}, torchaudio {torchaudio.__version__}, numba {numba.__version__}, "
          f"numba threads {numba.get_num_threads()}, fusealign {align.__version__}, "
          f"CUDA {torch.cuda.get_device_name(0) if cuda else 'not available'}")
    gen = torch.Generator().manual_seed(0)
    failures = check_cpu_exact(ta_align, our_align, gen)
    failures += check_hand_cases(ta_align, our_align, cuda)
    if cuda:
        failures += check_cuda(ta_align, our_align, gen)
    check_float16(ta_align, our_align, gen)
    print("Timings (median):")
    failures += timings(ta_align, our_align, cuda)
    print("RESULT:", "OK" if failures == 0 else f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
