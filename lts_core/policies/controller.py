"""The learned admission controller C_theta: a small transformer over projected embedding tokens.

Input, as in the paper: frozen MiniLM embeddings (384-d) of the task query, of every key already
in the bank, and of the step's input u, summary s and output o. Each group has its own trainable
linear map into the model width (W_q, W_m, W_s), plus a learned type embedding so the model can
tell u, s and o apart. A pre-norm transformer encoder reads

    [CLS] [query] [key_1 ... key_N] [u] [s (+ W_f support)] [o]

with padding keys masked out (``W_f support`` only with ``support_input``: the share of the names s
quotes that o contains, ``lts_core.world.grounding``, added to the s token by a map that starts at zero), and a YES/NO head on the CLS position gives two logits.
``p_yes`` is softmax(logits / T)[YES]; evaluation admits when p_yes >= 0.5 at T=1 (argmax);
training samples at T=1.2. Why this replaces the paper's Qwen3-0.6B + LoRA: docs/controller.md.

Thread-safety: a model used for inference only (``torch.no_grad``) may be shared between threads;
training mutates it and must not overlap inference.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lts_core.policies.controller_config import ControllerConfig
from lts_core.record.records import TrainEpochRecord

YES, NO = 1, 0
TOKEN_TYPES = {"cls": 0, "query": 1, "key": 2, "u": 3, "s": 4, "o": 5}
CHECKPOINT_FORMAT = "lts-controller/1"


@dataclass
class DecisionInput:
    """What the controller sees for one step. Vectors are L2-normalised float32 embeddings."""

    query: np.ndarray  # (D,)
    keys: np.ndarray  # (N, D), N may be 0
    u: np.ndarray  # (D,)
    s: np.ndarray  # (D,)
    o: np.ndarray  # (D,)
    support: float = 1.0  # grounding.support(s, o); read only by a model with support_input


@dataclass
class Batch:
    query: torch.Tensor  # (B, D)
    keys: torch.Tensor  # (B, N, D)
    key_mask: torch.Tensor  # (B, N) True where a key is present
    uso: torch.Tensor  # (B, 3, D)
    support: torch.Tensor  # (B, 1)
    # (B, len(config.inputs)) True where that input is left out (attribution)
    drop: torch.Tensor | None = None


def collate(items: list[DecisionInput], max_keys: int) -> Batch:
    """Stack decisions into padded tensors; banks larger than ``max_keys`` keep their newest keys."""
    if not items:
        raise ValueError("collate needs at least one decision")
    d = items[0].query.shape[-1]
    n = min(max_keys, max(len(x.keys) for x in items))
    keys = np.zeros((len(items), max(n, 1), d), dtype=np.float32)
    mask = np.zeros((len(items), max(n, 1)), dtype=bool)
    for i, x in enumerate(items):
        k = x.keys[-n:] if n else x.keys[:0]
        keys[i, : len(k)] = k
        mask[i, : len(k)] = True
    return Batch(
        query=torch.from_numpy(np.stack([x.query for x in items]).astype(np.float32)),
        keys=torch.from_numpy(keys),
        key_mask=torch.from_numpy(mask),
        uso=torch.from_numpy(np.stack([np.stack([x.u, x.s, x.o]) for x in items]).astype(np.float32)),
        support=torch.tensor([[float(x.support)] for x in items], dtype=torch.float32),
    )


class AdmissionController(nn.Module):
    def __init__(self, config: ControllerConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or ControllerConfig()
        cfg.validate()
        self.w_q = nn.Linear(cfg.embed_dim, cfg.width)
        self.w_m = nn.Linear(cfg.embed_dim, cfg.width)
        self.w_s = nn.Linear(cfg.embed_dim, cfg.width)
        self.types = nn.Embedding(len(TOKEN_TYPES), cfg.width)
        self.cls = nn.Parameter(torch.zeros(cfg.width))
        layer = nn.TransformerEncoderLayer(cfg.width, cfg.heads, cfg.ff, cfg.dropout,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.width)
        self.head = nn.Linear(cfg.width, 2)  # logits [NO, YES]
        self.input_scale = math.sqrt(cfg.embed_dim)
        with torch.no_grad():
            # token types and CLS must not drown the content: the projected embeddings are ~unit
            # scale (inputs are rescaled in forward), so these start small
            self.types.weight.normal_(0.0, 0.1)
            # the untrained controller admits with P(YES) near init_p_yes on average
            self.head.bias.zero_()
            self.head.bias[YES] = math.log(cfg.init_p_yes / (1.0 - cfg.init_p_yes))
        if cfg.support_input:
            # created last and zero-initialised: the untrained model, and every other parameter's
            # initial draw, are those of the same config without it (old checkpoints load as before)
            self.w_f = nn.Linear(1, cfg.width)
            with torch.no_grad():
                self.w_f.weight.zero_()
                self.w_f.bias.zero_()

    def forward(self, b: Batch) -> torch.Tensor:
        """Logits (B, 2). A row's padding keys are masked and do not change its output."""
        return self.head(self.encode(b))

    def encode(self, b: Batch) -> torch.Tensor:
        """The decision as the controller sees it: the normalised CLS state (B, width)."""
        bsz = b.query.shape[0]
        t = self.types.weight
        k = self.input_scale  # unit-norm embeddings have ~1/sqrt(D) components: bring them to ~1
        cls = (self.cls + t[TOKEN_TYPES["cls"]]).expand(bsz, 1, -1)
        q = (self.w_q(b.query * k) + t[TOKEN_TYPES["query"]]).unsqueeze(1)
        m = self.w_m(b.keys * k) + t[TOKEN_TYPES["key"]]
        uso = self.w_s(b.uso * k) + t[[TOKEN_TYPES["u"], TOKEN_TYPES["s"], TOKEN_TYPES["o"]]]
        n_in = len(self.config.inputs)
        kept = ~b.drop if b.drop is not None else torch.ones(bsz, n_in, dtype=torch.bool)
        if self.config.support_input:  # centred: fully supported (1.0) and none (0.0) differ in sign
            f = self.w_f(2.0 * b.support - 1.0) * kept[:, 4:5]
            uso = torch.stack([uso[:, 0], uso[:, 1] + f, uso[:, 2]], dim=1)
        x = torch.cat([cls, q, m, uso], dim=1)
        keep = torch.cat([torch.ones(bsz, 1, dtype=torch.bool), kept[:, :1], b.key_mask,
                          kept[:, 1:4]], dim=1)
        h = self.encoder(x, src_key_padding_mask=~keep)
        return self.norm(h[:, 0])

    def p_yes(self, b: Batch, temperature: float = 1.0) -> torch.Tensor:
        return torch.softmax(self(b) / temperature, dim=-1)[:, YES]

    @torch.no_grad()
    def score(self, x: DecisionInput, temperature: float = 1.0) -> float:
        """P(YES) for one decision (inference; no gradient)."""
        return self.scores(x, (temperature,))[0]

    @torch.no_grad()
    def scores(self, x: DecisionInput, temperatures: tuple[float, ...]) -> list[float]:
        """P(YES) for one decision at each temperature, from one forward pass."""
        logits = self(collate([x], self.config.max_keys))
        return [float(torch.softmax(logits / t, dim=-1)[0, YES]) for t in temperatures]


# ----------------------------------------------------------------------------------- checkpoints
def save_checkpoint(path: str | Path, model: AdmissionController, *, meta: dict[str, Any] | None = None,
                    optimizer: torch.optim.Optimizer | None = None) -> Path:
    """Write the model (and optionally the optimizer state, for resuming) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {"format": CHECKPOINT_FORMAT, "config": dataclasses.asdict(model.config),
            "state_dict": model.state_dict(), "meta": meta or {}}
    if optimizer is not None:
        blob["optimizer"] = optimizer.state_dict()
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)  # never leave a half-written checkpoint under the real name
    return path


def load_checkpoint(path: str | Path) -> tuple[AdmissionController, dict[str, Any]]:
    """(model in eval mode, the whole checkpoint dict). Raises ValueError naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"controller checkpoint {path} does not exist; train one with `lts train` "
                         "or leave the setting empty for the shipped one")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(f"{path} is not a readable controller checkpoint: {e}") from e
    if not isinstance(blob, dict) or blob.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not an LTS controller checkpoint (format "
                         f"{blob.get('format') if isinstance(blob, dict) else type(blob).__name__!r}, "
                         f"expected {CHECKPOINT_FORMAT!r})")
    model = AdmissionController(ControllerConfig(**blob["config"]))
    model.load_state_dict(blob["state_dict"])
    model.eval()
    return model, blob


def default_checkpoint() -> Path:
    """The shipped controller: ``lts_core/assets/controller/lts-controller.pt`` (package data)."""
    from lts_core.config import ASSETS_DIR

    return ASSETS_DIR / "controller" / "lts-controller.pt"


def describe_checkpoint(path: Path, blob: dict[str, Any]) -> dict[str, Any]:
    meta = blob.get("meta", {})
    return {"checkpoint": str(path), "trained_on": meta.get("suite"), "epochs": meta.get("epoch"),
            "train_id": meta.get("train_id"), "config": json.dumps(blob.get("config", {}))}


def checkpoint_card(path: Path | None = None) -> dict[str, Any]:
    """What a user should know of a checkpoint (default: the shipped one), from its own meta:
    recipe, training suite/tasks/epochs, the credit constants, the inputs the model reads, weights
    sha, the threshold and the validation curve it was calibrated on (``calibration``: tasks,
    seeds, teams, rule, none, curve; ``None`` when never calibrated). Raises ValueError as ``load_checkpoint`` does."""
    path = Path(path) if path else default_checkpoint()
    model, blob = load_checkpoint(path)
    meta = blob.get("meta", {})
    tc = meta.get("train_config", {})
    return {"checkpoint": str(path), "recipe": meta.get("recipe") or tc.get("recipe"),
            "weights_sha": meta.get("weights_sha"), "suite": meta.get("suite"),
            "tasks": tc.get("tasks"), "epochs": meta.get("epoch"), "episodes": tc.get("episodes"),
            "teams": tc.get("teams"), "backend": tc.get("backend"), "credit": tc.get("credit", {}),
            "threshold": meta.get("threshold"), "calibration": meta.get("calibration"),
            "inputs": list(model.config.inputs)}


def write_sidecar(path: Path, meta: dict[str, Any], epochs: list[TrainEpochRecord] | None = None,
                  ) -> Path:
    """``<checkpoint>.json``: the recipe and config that produced the checkpoint, its per-epoch
    metrics, and (once calibrated) its threshold with the validation curve. Keys already in the
    file that ``meta`` does not name (e.g. the calibration) are kept."""
    side = path.with_suffix(".json")
    old = json.loads(side.read_text()) if side.is_file() else {}
    if epochs is not None:
        old.pop("calibration", None)  # a new epoch's weights invalidate an older calibration
        old.pop("threshold", None)
        rows = [{k: v for k, v in dataclasses.asdict(r).items() if k != "extra_json"}
                | {"extra": json.loads(r.extra_json)} for r in epochs]
        meta = {**meta, "epochs": rows}
    side.write_text(json.dumps({**old, **meta}, indent=2, default=str) + "\n")
    return side
