"""The tutorial notebooks run from top to bottom, and every cell that draws a chart shows it.

Each notebook is executed in a fresh Jupyter kernel (nbclient) with Jupyter's own inline matplotlib backend,
as JupyterLab runs it; the executed notebook is not written back. A *chart cell* is a code cell that calls
one of ``diffusion.presentation.charts``' chart functions or pyplot's ``plt.show()``: its outputs must hold
an image (``image/png``), so a chart that Jupyter cannot display fails here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from diffusion.presentation import charts

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
#: Chart functions of the presentation layer (those a notebook may call as ``charts.<name>(...)``).
CHART_FUNCTIONS = sorted(n for n in charts.__all__ if n.endswith(("_chart", "_over_time", "_comparison",
                                                                  "_plot", "_dashboard", "_fit"))
                         or n.startswith("adoption_by"))
CHART_CALL = re.compile(r"\bcharts\.(" + "|".join(CHART_FUNCTIONS) + r")\(|\bplt\.show\(\)")


def chart_cells(nb) -> list[int]:
    """Indices of the code cells that draw a chart."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and CHART_CALL.search(c.source)]


def test_chart_cells_are_found():
    nbformat = pytest.importorskip("nbformat")
    found = {p.name: chart_cells(nbformat.read(p, as_version=4)) for p in NOTEBOOKS}
    assert len(NOTEBOOKS) >= 3 and all(found.values()), found


@pytest.mark.integration
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_shows_every_chart(path: Path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}  # as JupyterLab runs it
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute(env=env)
    cells = chart_cells(nb)
    assert cells
    for i in cells:
        kinds = [k for out in nb.cells[i].outputs for k in out.get("data", {})]
        assert "image/png" in kinds, f"{path.name} cell {i} draws a chart but shows no image: {nb.cells[i].source!r}"
