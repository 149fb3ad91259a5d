"""The forward-sum alignment loss on the CPU, forward and backward, beside torch's CTCLoss (issue 10).

B = 32 items of T_mel = 1,000 frames and T_text = 200 tokens (float32 attention
log-probabilities, as a TTS aligner gives them), three ways:

- ``align.ForwardSumLoss`` (our forward-backward kernel, ``kernels/forward_sum.py``);
- the construction RAD-TTS and NeMo use: a padded blank column, a log-softmax and
  ``torch.nn.CTCLoss`` called once per item;
- the same ``CTCLoss`` called once on the whole batch.

Every value is checked against ours (1e-5 relative, the issue's tolerance) before
the timing; then ``--rounds`` rounds, each running the three once in a new random
order. Prints best and median seconds and the ratios to ours. Run from the
repository root::

    python benchmarks/bench_forward_sum.py [--rounds 7]
"""

import argparse
import random
import statistics
import time

import torch

import align


def ctc_per_item(attn_logprob, text_lengths, mel_lengths, blank_logprob=-1.0):
    """RAD-TTS's / NeMo's construction: a padded blank column, a log-softmax, CTCLoss item by item.

    On the device of ``attn_logprob`` (benchmarks/gpu/tts_gpu.py runs it on a GPU).
    """
    ctc = torch.nn.CTCLoss(zero_infinity=True)
    padded = torch.nn.functional.pad(attn_logprob, (1, 0), value=blank_logprob)
    total = 0.0
    for b in range(attn_logprob.shape[0]):
        K, T = int(text_lengths[b]), int(mel_lengths[b])
        cur = torch.log_softmax(padded[b, :, :T, :K + 1], dim=-1).permute(1, 0, 2)  # (T, 1, K + 1)
        target = torch.arange(1, K + 1, device=attn_logprob.device)[None]
        total = total + ctc(cur, target, torch.tensor([T]), torch.tensor([K]))
    return total / attn_logprob.shape[0]


def ctc_batched(attn_logprob, text_lengths, mel_lengths, blank_logprob=-1.0):
    """The same loss in one CTCLoss call (every item with all T_text tokens, as here)."""
    padded = torch.nn.functional.pad(attn_logprob[:, 0], (1, 0), value=blank_logprob)
    log_probs = torch.log_softmax(padded, dim=-1).permute(1, 0, 2)  # (T, B, K + 1)
    B, K = attn_logprob.shape[0], attn_logprob.shape[3]
    targets = torch.arange(1, K + 1)[None].expand(B, K)
    return torch.nn.CTCLoss(zero_infinity=True)(log_probs, targets, mel_lengths, text_lengths)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    torch.manual_seed(0)
    B, T, K = 32, 1000, 200
    attn = torch.randn(B, 1, T, K, requires_grad=True)
    tl, ml = torch.full((B,), K), torch.full((B,), T)
    ours = align.ForwardSumLoss()
    impls = {
        "align.ForwardSumLoss (CPU kernel)": lambda: ours(attn, tl, ml),
        "torch CTCLoss, one call per item (RAD-TTS / NeMo)": lambda: ctc_per_item(attn, tl, ml),
        "torch CTCLoss, one call for the batch": lambda: ctc_batched(attn, tl, ml),
    }
    want = ours(attn, tl, ml).item()
    for name, fn in impls.items():
        got = fn().item()
        assert abs(got - want) <= 1e-5 * abs(want), (name, got, want)
    times = {name: [] for name in impls}
    for _ in range(args.rounds):
        order = list(impls)
        random.shuffle(order)
        for name in order:
            attn.grad = None
            t0 = time.perf_counter()
            impls[name]().backward()
            times[name].append(time.perf_counter() - t0)
    ours_best = min(times["align.ForwardSumLoss (CPU kernel)"])
    print(f"B = {B}, T_mel = {T}, T_text = {K}, float32, forward + backward, {torch.get_num_threads()} torch threads")
    print("| implementation | best (s) | median (s) | this / ours (best) |")
    print("|---|---:|---:|---:|")
    for name, ts in times.items():
        print(f"| {name} | {min(ts):.3f} | {statistics.median(ts):.3f} | {min(ts) / ours_best:.2f}x |")


if __name__ == "__main__":
    main()
