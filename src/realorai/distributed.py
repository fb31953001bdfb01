"""Training on several processes with ``torchrun`` (DistributedDataParallel).

``torchrun --nproc_per_node N -m realorai train ...`` starts N copies; each reads WORLD_SIZE,
RANK and LOCAL_RANK from the environment. The process group uses gloo on CPUs and nccl on GPUs.
Each process trains on its own shard of every epoch (a DistributedSampler), gradients are
averaged, and only rank 0 writes the run folder. Without torchrun nothing here does anything.
"""

from __future__ import annotations

import os

import torch
import torch.nn as nn


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def setup() -> tuple[int, int]:
    """(rank, world size); joins the process group the first time under torchrun."""
    world = world_size()
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world


def local_device(device: torch.device) -> torch.device:
    """One GPU per process: cuda:LOCAL_RANK."""
    if device.type == "cuda" and world_size() > 1:
        index = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return device


def shard(n: int, epoch: int, seed: int, rank: int, world: int) -> torch.Tensor:
    """This process's indices of an epoch: shuffled by (seed, epoch), the same split on every
    rank, padded so that every rank takes the same number of steps."""
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    return torch.tensor(list(sampler), dtype=torch.long)


def sync_buffers(module: nn.Module) -> None:
    """Give every rank rank 0's buffers (BatchNorm statistics), so validation agrees everywhere."""
    if world_size() > 1:
        import torch.distributed as dist

        for b in module.buffers():
            dist.broadcast(b, 0)


def describe() -> dict | None:
    """What a checkpoint records of a distributed run (None in one process)."""
    if world_size() <= 1:
        return None
    import torch.distributed as dist

    return {"world_size": dist.get_world_size(), "backend": dist.get_backend()}


def barrier() -> None:
    """Wait for every rank (no-op in one process)."""
    if world_size() > 1:
        import torch.distributed as dist

        setup()
        dist.barrier()


def finish() -> None:
    """Leave the process group together: wait for every rank (rank 0 may still be writing the
    run), then tear the group down. A rank that simply exits while its peers still hold gloo
    connections can abort in the library's destructors, which is what failed in CI once."""
    if world_size() <= 1:
        return
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def agree(flag: bool) -> bool:
    """Rank 0's decision, on every rank (to stop early together, never to hang)."""
    if world_size() <= 1:
        return flag
    import torch.distributed as dist

    box = [flag]
    dist.broadcast_object_list(box, 0)
    return bool(box[0])


def wrap(module: nn.Module, device: torch.device) -> nn.Module:
    if world_size() <= 1:
        return module
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)
