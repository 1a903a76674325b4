"""How an indexing run uses Ray (`sva index --ray`): where the cluster is and how many engine actors it runs."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RayOptions(BaseModel):
    address: str | None = Field(
        default=None, description="a running cluster ('auto', 'HOST:PORT', 'ray://HOST:PORT'); None: start a local "
        "Ray for the run and stop it after")
    workers: int | None = Field(
        default=None, ge=1, description="engine actors; None: one per GPU when the cluster has GPUs (and the run "
        "is not pinned to the CPU), else the cluster's CPUs / cpus_per_worker")
    cpus_per_worker: int = Field(default=1, ge=1, description="CPUs each actor reserves; a CPU actor runs that many "
                                 "torch threads")
    local_cpus: int | None = Field(default=None, ge=1, description="CPUs of a local Ray; None: all of this machine's")
    max_restarts: int = Field(default=3, ge=0, description="times Ray restarts a dead actor (its engine reloads)")
    max_task_retries: int = Field(default=3, ge=0, description="times Ray reruns a chunk whose actor died under it")
    task_attempts: int = Field(default=3, ge=1, description="then: times the pool reruns it on a fresh actor before "
                               "the chunk is recorded as failed (retried by the next run)")
