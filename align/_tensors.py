"""Torch in, torch out: results follow the kind and the device of the inputs.

Every public function that accepts torch tensors computes on numpy copies (or on the
GPU) and then hands its arrays back as torch tensors on the device of the first
tensor input. Scalars (distances, log-likelihoods) stay Python floats, as
``torch.Tensor.item()`` would give them; integer arrays (paths, states) become int64
tensors, float arrays keep their numpy dtype. numpy in gives numpy out.

torch is never imported here: a caller that passed no tensor never loads it.
"""

import sys

import numpy as np

from ._validation import is_torch_tensor

__all__ = ["torch_device", "like_input"]


def _flatten(inputs):
    for item in inputs:
        if isinstance(item, (list, tuple)):
            yield from _flatten(item)
        else:
            yield item


def torch_device(*inputs):
    """The device of the first torch tensor among ``inputs`` (lists are searched), or None.

    Parameters
    ----------
    *inputs : object
        Arrays, tensors, or lists and tuples of them.

    Returns
    -------
    torch.device or None
        None when no input is a torch tensor: results stay numpy.
    """
    for item in _flatten(inputs):
        if is_torch_tensor(item):
            return item.device
    return None


def like_input(array, device):
    """``array`` as a torch tensor on ``device``, or unchanged when ``device`` is None.

    Parameters
    ----------
    array : np.ndarray or torch.Tensor or None
        A result array (None passes through: an absent path stays absent).
    device : torch.device or None
        What :func:`torch_device` found.

    Returns
    -------
    np.ndarray or torch.Tensor or None
    """
    if device is None or array is None:
        return array
    torch = sys.modules["torch"]  # a tensor came in, so torch is loaded
    if is_torch_tensor(array):
        return array.to(device)
    return torch.from_numpy(np.ascontiguousarray(array)).to(device)
