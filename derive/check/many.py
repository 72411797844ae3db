"""Checking a class: many answer files against one model, on every core, in file order.

Each worker process checks whole files (the model is read once per worker and per distinct front
matter, by ``check_answers``' own cache); results come back in the order the files were given,
so the report is the same however many workers ran.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from derive.check.run import CheckError, check_answers

# Below this many files a pool costs more than it saves.
POOL_FROM = 6


def _one(job):
    file, model, layout, settings = job
    try:
        return file, *check_answers(file, model, layout, (), settings), None
    except CheckError as err:
        return file, None, [], str(err)


def check_files(files: list[str], model: str | None, layout: str | None, settings: dict,
                progress: Callable[[int], None] | None = None) -> list[tuple]:
    """(file, model name, verdicts) per file, in order; CheckError for the first file that cannot be
    checked at all."""
    jobs = [(f, model, layout, settings) for f in files]
    workers = min(os.cpu_count() or 1, 8)
    if len(files) < POOL_FROM or workers < 2:
        results = []
        for job in jobs:
            results.append(_one(job))
            if progress:
                progress(1)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = []
            for result in pool.map(_one, jobs, chunksize=4):
                results.append(result)
                if progress:
                    progress(1)
    for _, _, _, error in results:
        if error is not None:
            raise CheckError(error)
    return [(file, name, verdicts) for file, name, verdicts, _ in results]
