"""Los cuadernos tal como se entregan: lo que un alumno lee, sin ruido ni datos de la máquina.

(Que sus salidas se reproduzcan lo comprueba nbval al ejecutarlos; aquí se mira el archivo.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

RAIZ = Path(__file__).resolve().parent.parent
CUADERNOS = sorted((RAIZ / "notebooks").glob("[0-9]*.ipynb"))
RUTA_DE_MAQUINA = re.compile(r"(/root/|/work/|/home/\w+/|/tmp/[\w.-]+/|site-packages|C:\\\\Users)")


def _celdas(cuaderno: Path) -> list[dict]:
    return json.loads(cuaderno.read_text(encoding="utf-8"))["cells"]


def _salidas(celda: dict) -> str:
    return json.dumps(celda.get("outputs", []), ensure_ascii=False)


@pytest.mark.parametrize("cuaderno", CUADERNOS, ids=lambda c: c.stem)
def test_sin_marcas_de_tiempo_ni_stderr_ni_rutas(cuaderno: Path) -> None:
    for i, celda in enumerate(_celdas(cuaderno)):
        assert "execution" not in celda.get("metadata", {}), f"celda {i}: marca de tiempo (usa tareas.py cuadernos)"
        if celda["cell_type"] != "code":
            continue
        for salida in celda.get("outputs", []):
            assert salida.get("name") != "stderr", f"celda {i}: salida en stderr"
        assert not RUTA_DE_MAQUINA.search(_salidas(celda)), f"celda {i}: una ruta de la máquina en la salida"
        assert celda.get("execution_count") is not None or not "".join(celda["source"]).strip(), (
            f"celda {i}: sin ejecutar"
        )


@pytest.mark.parametrize("cuaderno", CUADERNOS, ids=lambda c: c.stem)
def test_forma_de_episodio(cuaderno: Path) -> None:
    celdas = _celdas(cuaderno)
    total = len(CUADERNOS)
    titulo = "".join(celdas[0]["source"])
    assert titulo.startswith("# "), "la primera celda es el título"
    assert "Tiempo estimado" in titulo and f" de {total}" in titulo
    texto = "\n".join("".join(c["source"]) for c in celdas if c["cell_type"] == "markdown")
    for seccion in ("Puntos clave", "Objetivos"):
        assert seccion in texto, f"falta «{seccion}»"
    assert "cerrar_y_comprobar()" in "".join(celdas[-1]["source"]) or any(
        "cerrar_y_comprobar()" in "".join(c["source"]) for c in celdas[-3:]
    ), "el cuaderno termina cerrando el pool y comprobando que no queda nada"
    for i, celda in enumerate(celdas):
        assert "slide_type" in celda.get("metadata", {}).get("slideshow", {}), f"celda {i}: sin tipo de diapositiva"


def test_sanitize_en_ascii() -> None:
    """nbval lee ``sanitize.cfg`` con la codificación del sistema (cp1252 en Windows): solo ASCII.

    Un carácter no ASCII en una expresión se escribe con su escape (``\\u00b5`` para «µ»).
    """
    (RAIZ / "tests" / "sanitize.cfg").read_bytes().decode("ascii")
