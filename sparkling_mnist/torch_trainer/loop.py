"""Train a network of a `NetworkPlan` with minibatches in PyTorch, in one process or
as one rank of a DistributedDataParallel group (gloo on CPU).

`train_network` runs the same way in the driver (world of 1) and in every process
TorchDistributor starts on the executors: each process reads its share of the rows,
the input statistics are summed across processes (so every process scales exactly as
H2O will, from all rows), the number of steps per epoch is the smallest share's, and
rank 0 scores each epoch and returns the weights.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from sparkling_mnist.torch_trainer.data import TrainingData, load_rows
from sparkling_mnist.torch_trainer.plan import ColumnStats, InputScaling, NetworkPlan, input_scaling

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TorchOptions:
    """How torch trains (the `torch` config section, resolved).

    Attributes:
        batch_size: rows per step and process.
        optimizer: 'adam' or 'sgd' (with momentum).
        learning_rate, momentum: the optimiser's.
        schedule: the learning rate over the steps ('constant', 'cosine', 'onecycle';
            see `rate_factor`).
        weight_decay: decoupled weight decay (AdamW with adam; sgd's weight_decay).
        label_smoothing: classifiers' cross-entropy against smoothed labels.
        threads: torch threads per process (None: torch's default).
    """

    batch_size: int = 128
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    schedule: str = "constant"
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    threads: int | None = None


ONECYCLE_WARMUP = 0.3
"""Share of the steps a one-cycle schedule spends warming up (PyTorch's `pct_start`)."""
ONECYCLE_START = 1 / 25
"""A one-cycle schedule starts at this share of the rate (PyTorch's `1 / div_factor`)."""


def rate_factor(schedule: str, step: int, total: int) -> float:
    """The share of the learning rate used at `step` (0-based) of `total` steps.

    'constant': 1. 'cosine': from 1 down to 0 along half a cosine. 'onecycle' (Smith
    2018, as PyTorch's OneCycleLR with cosine annealing): from 1/25 up to 1 over the
    first 30 % of the steps, then down to 0 along half a cosine.

    Raises:
        ValueError: an unknown schedule.
    """
    progress = min(max(step, 0), total) / max(total, 1)
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if schedule == "onecycle":
        if progress < ONECYCLE_WARMUP:
            rising = 0.5 * (1.0 - math.cos(math.pi * progress / ONECYCLE_WARMUP))
            return ONECYCLE_START + (1.0 - ONECYCLE_START) * rising
        falling = (progress - ONECYCLE_WARMUP) / (1.0 - ONECYCLE_WARMUP)
        return 0.5 * (1.0 + math.cos(math.pi * falling))
    raise ValueError(f"unknown learning rate schedule {schedule!r} (constant, cosine or onecycle)")


@dataclass(frozen=True)
class TorchJob:
    """Everything one training needs; picklable, so TorchDistributor can ship it."""

    name: str
    plan: NetworkPlan
    options: TorchOptions
    training: TrainingData
    validation: TrainingData | None = None
    scaling: TrainingData | None = None  # rows whose statistics scale the inputs; None: the training rows


@dataclass
class TorchResult:
    """What training gives back (rank 0's view).

    Attributes:
        layers: (weight out x in, bias) float32 per layer, input to output.
        scaling: the input columns and transform the network was trained with.
        history: one row per epoch: epochs, samples, training and validation metrics,
            duration_seconds.
        rows: training rows over all processes.
        world: processes.
        seconds: training time (after loading).
        load_seconds: time to read the rows.
        samples: rows trained on over all processes and epochs.
        steps: optimizer steps (each process takes the same ones, DDP averaging them).
    """

    layers: list[tuple[np.ndarray, np.ndarray]]
    scaling: InputScaling
    history: list[dict[str, float]]
    rows: int
    world: int
    seconds: float
    load_seconds: float
    samples: float = 0.0
    steps: int = 0

    @property
    def samples_per_second(self) -> float:
        """Training samples per second over all processes."""
        return self.samples / self.seconds if self.seconds else float("nan")


FEW_STEPS = 100
"""Below this many optimizer steps a network has barely moved from its initial weights."""


def few_steps_warning(name: str, result: TorchResult, batch_size: int) -> str | None:
    """A warning when training took fewer than `FEW_STEPS` optimizer steps, else None.

    H2O's deep learning updates the weights after every row, so one of its epochs over
    975 rows is 975 updates; one torch epoch is rows / (processes x batch_size) steps,
    4 for the same rows on 2 processes at 128. Epoch counts carried over from H2O on
    small data then leave the network untrained, silently: this says so.
    """
    if result.steps >= FEW_STEPS:
        return None
    epochs = result.history[-1]["epochs"] if result.history else 0.0
    return (
        f"torch {name}: only {result.steps} optimizer steps ({epochs:g} epochs of {result.rows} rows over "
        f"{result.world} process(es) at batch_size {batch_size}): the network has barely trained. One H2O epoch "
        f"updates the weights after every row, one torch epoch after every {batch_size} rows per process; raise "
        "`epochs` or lower `torch.batch_size`"
    )


def build_network(plan: NetworkPlan, inputs: int, outputs: int) -> Any:
    """The torch module: [input dropout], (Linear, activation, [dropout]) per hidden
    layer, then the output Linear (with the hidden activation for an autoencoder;
    logits for a classifier)."""
    import torch
    from torch import nn

    torch.manual_seed(plan.seed)  # the initial weights, then the dropout masks
    activations = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU}
    modules: list[nn.Module] = []
    if plan.input_dropout:
        modules.append(nn.Dropout(plan.input_dropout))
    width = inputs
    for units, dropout in zip(plan.hidden, plan.hidden_dropout, strict=True):
        modules += [nn.Linear(width, units), activations[plan.activation]()]
        if dropout:
            modules.append(nn.Dropout(dropout))
        width = units
    modules.append(nn.Linear(width, outputs))
    if plan.autoencoder:
        modules.append(activations[plan.activation]())
    return nn.Sequential(*modules)


def linear_layers(module: Any) -> list[Any]:
    """The Linear layers of a network, input to output."""
    from torch import nn

    return [layer for layer in module.modules() if isinstance(layer, nn.Linear)]


def layer_outputs(plan: NetworkPlan, layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> list[np.ndarray]:
    """Eval-mode activations of every layer in float64 from the float32 weights: the
    hidden layers, then the reconstruction (transformed units) or class probabilities.
    Numpy, written like torch's eval forward (no dropout)."""
    functions = {
        "tanh": np.tanh,
        "relu": lambda z: np.maximum(z, 0.0),
        "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
    }
    act: Any = functions[plan.activation]
    outputs = []
    current = np.asarray(x, dtype=np.float64)
    for index, (weight, bias) in enumerate(layers):
        z = current @ np.asarray(weight, np.float64).T + np.asarray(bias, np.float64)
        if index < len(layers) - 1 or plan.autoencoder:
            current = act(z)
        else:
            shifted = np.exp(z - z.max(axis=1, keepdims=True))
            current = shifted / shifted.sum(axis=1, keepdims=True)
        outputs.append(current)
    return outputs


def train_network(job: TorchJob) -> TorchResult:
    """Train `job`'s network on its rows; in a DDP group when torch.distributed is set up
    by the launcher (RANK/WORLD_SIZE in the environment), else alone.

    Returns:
        rank 0's result (other ranks return theirs too; TorchDistributor keeps rank 0's).
    """
    import torch
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("gloo")
    if job.options.threads:
        torch.set_num_threads(job.options.threads)
    try:
        return _train(job, rank, world)
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _all_reduce(values: np.ndarray, op: str, world: int) -> np.ndarray:
    if world == 1:
        return values
    import torch
    import torch.distributed as dist

    tensor = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float64))
    dist.all_reduce(tensor, op={"sum": dist.ReduceOp.SUM, "min": dist.ReduceOp.MIN, "max": dist.ReduceOp.MAX}[op])
    return tensor.numpy()


def _global_stats(local: ColumnStats, world: int) -> ColumnStats:
    count = int(_all_reduce(np.array([local.count], dtype=np.float64), "sum", world)[0])
    return ColumnStats(
        count,
        _all_reduce(local.total, "sum", world),
        _all_reduce(local.squares, "sum", world),
        _all_reduce(local.low, "min", world),
        _all_reduce(local.high, "max", world),
    )


@dataclass
class _Rows:
    """One process's share of the training rows, scaled, and (rank 0) the validation rows."""

    x: Any  # torch tensors
    y: Any
    valid: tuple[Any, Any] | None
    scaling: InputScaling
    total_rows: int
    seconds: float


def _load(job: TorchJob, rank: int, world: int) -> _Rows:
    """Read this process's rows and scale them by statistics of every process's rows."""
    import torch

    started = time.monotonic()
    raw_x, labels = load_rows(job.training, rank, world)
    total_rows = int(_all_reduce(np.array([len(raw_x)], dtype=np.float64), "sum", world)[0])
    scaling_rows = raw_x if job.scaling is None else load_rows(job.scaling, rank, world)[0]
    stats = _global_stats(ColumnStats.of(scaling_rows), world)
    del scaling_rows
    scaling = input_scaling(stats, job.plan.transform, job.plan.ignore_const_cols)
    x = torch.from_numpy(scaling.apply(raw_x))
    del raw_x
    valid = None
    if rank == 0 and job.validation is not None:
        valid_x, valid_y = load_rows(job.validation)
        valid = (torch.from_numpy(scaling.apply(valid_x)), torch.from_numpy(valid_y))
    return _Rows(x, torch.from_numpy(labels), valid, scaling, total_rows, time.monotonic() - started)


def _optimizer(options: TorchOptions, model: Any) -> Any:
    import torch

    decay = options.weight_decay
    if options.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=options.learning_rate, momentum=options.momentum, weight_decay=decay
        )
    if decay:
        return torch.optim.AdamW(model.parameters(), lr=options.learning_rate, weight_decay=decay)
    return torch.optim.Adam(model.parameters(), lr=options.learning_rate)


def _loss(plan: NetworkPlan, out: Any, inputs: Any, labels: Any, weights: list[Any], *, smoothing: float = 0.0) -> Any:
    """The step's loss: MSE (autoencoders) or cross-entropy (against labels smoothed by
    `smoothing`), plus H2O's l1 and l2 terms."""
    from torch import nn

    if plan.autoencoder:
        loss = nn.functional.mse_loss(out, inputs)
    else:
        loss = nn.functional.cross_entropy(out, labels, label_smoothing=smoothing)
    if plan.l1:
        loss = loss + plan.l1 * sum(weight.abs().sum() for weight in weights)
    if plan.l2:
        loss = loss + plan.l2 / 2 * sum(weight.square().sum() for weight in weights)
    return loss


def _train(job: TorchJob, rank: int, world: int) -> TorchResult:
    import torch
    from torch import nn

    plan, options = job.plan, job.options
    rows = _load(job, rank, world)
    x, y = rows.x, rows.y
    outputs = x.shape[1] if plan.autoencoder else len(job.training.classes)
    network = build_network(plan, x.shape[1], outputs)
    model: nn.Module = nn.parallel.DistributedDataParallel(network) if world > 1 else network
    weights = [layer.weight for layer in linear_layers(network)]
    optimizer = _optimizer(options, model)
    batch = options.batch_size
    steps_per_epoch = int(_all_reduce(np.array([math.ceil(len(x) / batch)], np.float64), "min", world)[0])
    if steps_per_epoch == 0:
        raise ValueError(f"{job.name}: a process has no training rows ({len(x)} here, {world} processes)")
    total_steps = max(1, round(plan.epochs * steps_per_epoch))
    generator = torch.Generator().manual_seed(plan.seed * 1000 + rank)
    scored = [("training", x, y, plan.score_training_samples)]
    if rows.valid is not None:
        scored.append(("validation", rows.valid[0], rows.valid[1], plan.score_validation_samples))
    history: list[dict[str, float]] = []
    samples = 0.0
    step = 0
    train_started = time.monotonic()
    log.info(
        "torch %s: %d rows (%d here, %d processes) x %d inputs, %d steps of %d per epoch, %.1f epochs, %s rate",
        job.name,
        rows.total_rows,
        len(x),
        world,
        x.shape[1],
        steps_per_epoch,
        batch,
        plan.epochs,
        options.schedule,
    )
    while step < total_steps:
        order = torch.randperm(len(x), generator=generator)
        model.train()
        for position in range(min(steps_per_epoch, total_steps - step)):
            chosen = order[position * batch : (position + 1) * batch]
            for group in optimizer.param_groups:
                group["lr"] = options.learning_rate * rate_factor(options.schedule, step, total_steps)
            loss = _loss(plan, model(x[chosen]), x[chosen], y[chosen], weights, smoothing=options.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            samples += len(chosen) * world
            step += 1
        if rank == 0:
            row = {
                "epochs": step / steps_per_epoch,
                "samples": samples,
                **_score(network, plan, scored, generator),
                "duration_seconds": time.monotonic() - train_started,
            }
            history.append(row)
            log.info("torch %s: %s", job.name, ", ".join(f"{key} {value:.5g}" for key, value in row.items()))
    seconds = time.monotonic() - train_started
    if world > 1:
        # Every rank returns rank 0's history: TorchDistributor's local mode keeps
        # whichever rank writes last.
        shared: list[Any] = [history]
        torch.distributed.broadcast_object_list(shared, src=0)
        history = shared[0]
    layers = [
        (layer.weight.detach().numpy().astype(np.float32), layer.bias.detach().numpy().astype(np.float32))
        for layer in linear_layers(network)
    ]
    return TorchResult(
        layers=layers,
        scaling=rows.scaling,
        history=history,
        rows=rows.total_rows,
        world=world,
        seconds=seconds,
        load_seconds=rows.seconds,
        samples=samples,
        steps=step,
    )


def _score(network: Any, plan: NetworkPlan, parts: list[tuple[str, Any, Any, int]], generator: Any) -> dict[str, float]:
    """Training metrics on a sample of this process's rows, validation on its sample."""
    import torch

    network.eval()
    result: dict[str, float] = {}
    with torch.no_grad():
        for prefix, all_inputs, all_labels, limit in parts:
            inputs, labels = all_inputs, all_labels
            if limit and len(all_inputs) > limit:
                rows = torch.randperm(len(all_inputs), generator=generator)[:limit]
                inputs, labels = all_inputs[rows], all_labels[rows]
            out = network(inputs)
            if plan.autoencoder:
                result[f"{prefix}_mse"] = float(torch.nn.functional.mse_loss(out, inputs))
            else:
                result[f"{prefix}_logloss"] = float(torch.nn.functional.cross_entropy(out, labels))
                result[f"{prefix}_error"] = float((out.argmax(dim=1) != labels).float().mean())
    network.train()
    return result
