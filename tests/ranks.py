"""Run a function on several local processes joined in one gloo process group.

    results = run_ranks(worker, tmp_path, args=(...))   # [rank 0's result, rank 1's, ...]

Each rank is a fresh Python process with the repository first on PYTHONPATH,
forked from a server process that has imported torch and the training recipes
once (the forkserver start method), not spawned as an interpreter that would import
them again: about three seconds of CPU a rank. The ranks meet through a file store in
``directory`` (``init_method="file://..."``), so no two runs can collide, and
gloo connects them over the loopback interface. ``worker(rank, world_size,
*args)`` runs inside the process group and returns something ``torch.save``
can write. A rank that raises fails the call with its traceback; a run past
``timeout`` seconds fails too. Whatever happens, every process group is
destroyed and every process ended.
"""

from __future__ import annotations

import datetime
import os
import socket
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

REPOSITORY = Path(__file__).resolve().parents[1]
#: What the server the ranks fork from imports before it forks the first one.
PRELOADED = ["torch", "torch.distributed", "optlib", "optlib.torch", "recipes"]


def run_ranks(worker, directory, args=(), world_size=2, timeout=300.0):
    """``[worker(rank, world_size, *args) for each rank]``, the ranks run in parallel processes."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY), previous]))
    mp.set_forkserver_preload(PRELOADED)
    try:
        context = mp.start_processes(_rank_main, args=(worker, world_size, str(directory), args,
                                                       timeout),
                                     nprocs=world_size, join=False, start_method="forkserver")
    finally:
        if previous is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = previous
    deadline = time.monotonic() + timeout
    try:
        while not context.join(timeout=max(0.0, deadline - time.monotonic()), grace_period=5):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{worker.__name__} on {world_size} ranks took more than "
                                   f"{timeout:.0f} s")
    finally:
        _end(context.processes)
    return [torch.load(directory / f"rank{rank}.pt", weights_only=False)
            for rank in range(world_size)]


def _rank_main(rank, worker, world_size, directory, args, timeout):
    # One thread per rank: the ranks already share the cores, and threads that
    # spin at every barrier of a small model only take turns away from each other.
    torch.set_num_threads(1)
    loopback = [name for _, name in socket.if_nameindex() if name.startswith("lo")]
    if loopback:   # gloo connects the ranks over this interface
        os.environ.setdefault("GLOO_SOCKET_IFNAME", loopback[0])
    dist.init_process_group("gloo", init_method=f"file://{directory}/store", rank=rank,
                            world_size=world_size,
                            timeout=datetime.timedelta(seconds=timeout))
    try:
        result = worker(rank, world_size, *args)
        torch.save(result, Path(directory) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _end(processes):
    """Terminate the processes still running, then kill those that ignore it."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()
