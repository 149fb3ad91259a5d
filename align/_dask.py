"""A ``client=`` argument made into a connected :class:`dask.distributed.Client`.

Shared by every function that can hand its work to a Dask cluster
(:func:`align.align_corpus`, :func:`align.dtw_pairwise`). ``client`` is one of:

- a :class:`dask.distributed.Client` the caller already has (used as it is,
  never closed here);
- the address of a running scheduler (``"tcp://host:8786"``);
- ``"local:N"``: a :class:`~dask.distributed.LocalCluster` of N worker
  processes, one thread each, started for the call and closed after it.

Errors are align's: :class:`~align.exceptions.ParameterError` for a malformed
``client``, :class:`~align.exceptions.BackendUnavailableError` when
dask.distributed is missing or no scheduler answers. dask is imported only here,
and only when a client is asked for.
"""

from .exceptions import BackendUnavailableError, ParameterError

__all__ = ["CONNECT_TIMEOUT", "check_client", "resolve_client", "import_distributed", "n_workers"]

#: seconds to wait for a scheduler to answer before saying it cannot be reached
CONNECT_TIMEOUT = 10

_INSTALL = "install the cluster extra: pip install 'fusealign[cluster]'"


def import_distributed():
    """The :mod:`distributed` package.

    Returns
    -------
    module

    Raises
    ------
    BackendUnavailableError
        If dask.distributed is not installed.
    """
    try:
        import distributed
    except ImportError as exc:
        raise BackendUnavailableError(
            f"client= needs dask.distributed, which is not installed ({exc}); {_INSTALL}"
        ) from exc
    return distributed


def check_client(client):
    """Check the form of ``client`` without connecting to anything.

    Parameters
    ----------
    client : distributed.Client or str
        A client, a scheduler address or ``"local:N"``.

    Returns
    -------
    int or None
        N for ``"local:N"``, else None.

    Raises
    ------
    ParameterError
        If ``client`` is neither a client nor a string, or ``"local:N"`` has no
        integer N >= 1.
    """
    if isinstance(client, str):
        if client.startswith("local:") or client == "local":
            n = client.partition(":")[2]
            if not n.isdigit() or int(n) < 1:
                raise ParameterError(
                    f"client={client!r}: local:N needs a number of worker processes N >= 1, e.g. 'local:4'"
                )
            return int(n)
        if not client.strip():
            raise ParameterError("client is an empty string; give a scheduler address "
                                 "('tcp://host:8786') or 'local:N'")
        return None
    try:
        import distributed

        is_client = isinstance(client, distributed.Client)
    except ImportError:
        is_client = False
    if not is_client:
        raise ParameterError(
            f"client must be a dask.distributed.Client, a scheduler address ('tcp://host:8786') "
            f"or 'local:N', got {type(client).__name__}"
        )
    return None


def resolve_client(client, *, timeout=None, preload=()):
    """A connected client for ``client``, and what to close when the run ends.

    Parameters
    ----------
    client : distributed.Client or str
        A client (used as it is, never closed here), the address of a running
        scheduler, or ``"local:N"`` (a LocalCluster of N worker processes, one
        thread each, started here).
    timeout : float, optional
        Seconds to wait for a scheduler at an address; default :data:`CONNECT_TIMEOUT`.
    preload : sequence of str
        Modules each worker of a ``"local:N"`` cluster imports as it starts, Dask
        preload modules (their ``dask_setup(worker)`` runs before the worker
        joins); ignored for a client or an address, whose workers are already up.

    Returns
    -------
    client : distributed.Client
    owned : list
        The client and cluster made here (close them after the run), else empty.

    Raises
    ------
    ParameterError
        A malformed ``client`` (see :func:`check_client`).
    BackendUnavailableError
        If dask.distributed is missing, or no scheduler answers at the address
        within ``timeout`` seconds.
    """
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    n_local = check_client(client)
    if not isinstance(client, str):
        return client, []
    distributed = import_distributed()
    if n_local is not None:
        import logging

        # no dashboard; the scheduler's HTTP server (metrics, health) on a free port, not
        # Dask's 8787, which another cluster on this machine may hold (Dask then warns).
        # Dask's own log lines held at CRITICAL: a worker's heartbeat that races the
        # scheduler's shutdown at the end logs an ERROR with a traceback although nothing
        # failed, and what does fail (a file, a dead worker) is reported per file
        cluster = distributed.LocalCluster(n_workers=n_local, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.CRITICAL,
                                           scheduler_kwargs={"dashboard_address": ":0"},
                                           preload=list(preload))
        try:
            made = distributed.Client(cluster, set_as_default=False)
        except BaseException:
            cluster.close()
            raise
        return made, [made, cluster]
    try:
        made = distributed.Client(client, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise BackendUnavailableError(
            f"cannot reach a Dask scheduler at {client!r} within {timeout} s "
            f"({type(exc).__name__}: {exc}); start one (`dask scheduler`, then `dask worker ADDRESS` "
            f"on each machine) and give its address, or use 'local:N' for N processes on this machine"
        ) from exc
    return made, [made]


def n_workers(client):
    """How many workers the cluster behind ``client`` has now; 0 when it cannot say.

    Parameters
    ----------
    client : distributed.Client

    Returns
    -------
    int
        A sizing hint only: workers come and go.
    """
    try:
        return len(client.scheduler_info().get("workers", {}))
    except Exception:  # noqa: BLE001 - only a sizing hint
        return 0
