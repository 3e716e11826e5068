"""The walkthrough notebook runs from top to bottom and reaches the same answer."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "walkthrough.ipynb"


def test_walkthrough_runs_and_finds_prices_close_to_the_truth():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    printed = [
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    ]
    line = next(text for text in printed if text.startswith("largest price error"))
    assert float(line.split(":")[1].strip().rstrip("%")) < 10
    images = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert images, "the report cell shows no chart"
