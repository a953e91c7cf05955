"""Shared fixtures: the real Mexico City stack and small simulated stacks."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REAL_STACK = (REPO / ".." / "shared" / "data" / "real" / "mexico_city_cropA").resolve()

# Labels and outputs of read-only stacks (the shared real one) go to the user's data folder:
# the tests get their own, so that they neither read what a user (or an earlier run) decided
# for that stack nor write into the user's. Set at import, before any test or QGIS subprocess.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="sbas-selector-test-data-")


@pytest.fixture(scope="session")
def real_stack_path() -> Path:
    if not REAL_STACK.is_dir():
        pytest.fail(f"real test data missing: {REAL_STACK} (see ../shared/data/real/README.md)")
    return REAL_STACK


@pytest.fixture()
def stack_copy(tmp_path, real_stack_path):
    """A writable copy of the real stack (the shared one is read-only)."""
    import shutil

    target = tmp_path / "mexico"
    shutil.copytree(real_stack_path, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


@pytest.fixture(scope="session")
def small_simulation():
    """A small simulated stack (UTM grid), shared by tests that only read it."""
    from sbas_selector.core.simulation import SimulationConfig, simulate

    return simulate(SimulationConfig(seed=7, n_dates=12, rows=48, cols=64))


@pytest.fixture(scope="session")
def small_geographic_simulation():
    from sbas_selector.core.simulation import SimulationConfig, simulate

    return simulate(SimulationConfig(seed=7, n_dates=12, rows=48, cols=64, geographic=True))


def _tiny_model(path, size=32, card=None, channels=3):
    """Global average pool then a linear layer: 'low' grows with the discontinuity channel."""
    import json

    import numpy as np
    import onnx
    from onnx import TensorProto, helper

    from sbas_selector.core.preprocess import CHANNELS, PREPROCESSING_ID

    weights = np.zeros((channels, 2), np.float32)
    weights[1, 0] = 40.0  # discontinuity mean -> logit of "low"
    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
         helper.make_node("Flatten", ["pooled"], ["flat"]),
         helper.make_node("Gemm", ["flat", "W", "B"], ["logits"])],
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                       ["batch", channels, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor("W", TensorProto.FLOAT, [channels, 2], weights.ravel()),
         helper.make_tensor("B", TensorProto.FLOAT, [2], [0.0, 0.5])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    values = {"name": "tiny", "version": "0", "input_size": size, "channels": list(CHANNELS),
              "preprocessing": PREPROCESSING_ID, "class_names": ["low", "high"],
              "normalisation": {"mean": [0, 0, 0], "std": [1, 1, 1]}, "threshold": 0.5}
    values.update(card or {})
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def make_tiny_model():
    """Factory of tiny ONNX classifiers (global average pool + linear; 'low' grows with the
    discontinuity channel): ``make_tiny_model(path, size=32, card=None)``."""
    return _tiny_model


#: Rows, cols, height, width of the one small +1 cycle error of ``small_error_stack``'s 5th
#: pair (16 pixels, like the real Envisat error of issue 12).
SMALL_ERROR = (10, 20, 4, 4)


@pytest.fixture()
def small_error_stack(tmp_path) -> Path:
    """A GeoTIFF folder stack (6 dates, 12 pairs, 48 x 64 px, UTM) whose 5th pair carries one
    small +1 cycle unwrapping error at :data:`SMALL_ERROR`."""
    from sbas_selector.core.formats.geotiff import write_geotiff_folder
    from sbas_selector.core.raster_io import crs_wkt_from_epsg
    from sbas_selector.core.sources import ArraySource
    from sbas_selector.core.stack import Stack
    from sbas_selector.core.stack_types import Grid, Pair
    from tests.unit.test_closure import COLS, ROWS, TWO_PI, network, patch_mask, synthetic_phase

    dates, pairs = network(6, 3)
    phase = synthetic_phase(6, pairs, seed=11)
    phase[4][patch_mask(*SMALL_ERROR)] += TWO_PI
    grid = Grid(COLS, ROWS, (480_000.0, 80.0, 0.0, 2_160_000.0, 0.0, -80.0),
                crs_wkt_from_epsg(32614))
    stack = Stack(path="<memory>", format_name="memory",
                  pairs=[Pair(dates[i], dates[j], 10.0 * (j - i)) for i, j in pairs],
                  phase_sources=[ArraySource(a) for a in phase], coherence_sources=None,
                  grid=grid, wavelength_m=0.0555)
    return write_geotiff_folder(stack, tmp_path / "stack")
