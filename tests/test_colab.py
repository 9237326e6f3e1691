"""Google Colab: el botón de cada cuaderno y su celda que instala el curso (herramientas/colab.py).

La dirección del repositorio está en un solo sitio (``[project.urls]`` de ``pyproject.toml``): los
botones, la celda y los enlaces del README coinciden con ella. Que los cuadernos funcionen con
las versiones de Colab lo ensaya ``herramientas/ensayo_colab.py`` (pasada 8 de ``.ci/run``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

RAIZ = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(RAIZ / "herramientas"))
import colab  # noqa: E402

CUADERNOS = sorted((RAIZ / "notebooks").glob("[0-9]*.ipynb"))
# Enlaces a una cuenta y un repositorio de GitHub, directos o a través de Binder o Colab.
ENLACE_GITHUB = re.compile(
    r"(?:https://github\.com/|mybinder\.org/v2/gh/|colab\.research\.google\.com/github/)([\w.-]+/[\w.-]+?)(?=[/@)\s\"]|$)"
)


@pytest.mark.parametrize("cuaderno", CUADERNOS, ids=lambda c: c.stem)
def test_boton_y_celda_de_colab_al_dia(cuaderno: Path) -> None:
    celdas = json.loads(cuaderno.read_text(encoding="utf-8"))["cells"]
    assert colab.diferencias(celdas, cuaderno.name) == [], "ejecuta: python herramientas/colab.py"
    instalar = celdas[2]
    assert instalar["outputs"] == [], "la celda de Colab no muestra nada (ni en Colab ni fuera)"
    assert f"/notebooks/{cuaderno.name})" in "".join(celdas[0]["source"]), "el botón abre este cuaderno"


def test_una_sola_direccion_del_repositorio() -> None:
    """Cuadernos y README apuntan al repositorio de pyproject.toml (y a ningún otro del curso)."""
    esperado = colab.repositorio().removeprefix("https://github.com/")
    textos = {c.name: c.read_text(encoding="utf-8") for c in CUADERNOS}
    textos["README.md"] = (RAIZ / "README.md").read_text(encoding="utf-8")
    for nombre, texto in textos.items():
        del_curso = {r for r in ENLACE_GITHUB.findall(texto) if r.endswith("/capa_datos_persona")}
        assert del_curso <= {esperado}, f"{nombre}: {del_curso}"
    assert esperado in textos["README.md"]
    for nombre in colab.CUADERNOS.glob("[0-9]*.ipynb"):
        assert esperado in textos[nombre.name]


def test_la_direccion_sale_de_pyproject(tmp_path: Path) -> None:
    """Cambiar ``Repository`` en pyproject.toml cambia el botón y la celda (y nada más)."""
    texto = (RAIZ / "pyproject.toml").read_text(encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        re.sub(r'Repository = "[^"]*"', 'Repository = "https://github.com/profesora/curso-pool"', texto),
        encoding="utf-8",
    )
    assert colab.boton("01_x.ipynb", tmp_path).endswith(
        "(https://colab.research.google.com/github/profesora/curso-pool/blob/main/notebooks/01_x.ipynb)"
    )
    assert '"git+https://github.com/profesora/curso-pool@main"' in colab.celda_instalar(tmp_path)
    celdas = json.loads(CUADERNOS[0].read_text(encoding="utf-8"))["cells"]
    assert colab.diferencias(celdas, CUADERNOS[0].name, tmp_path) == [
        "el botón «Abrir en Colab» de la celda del título",
        "el texto de la celda «instalar» de Colab",
    ]


def _ejecutar_celda(codigo_previo: str, entorno: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """La celda de Colab en un Python sin site-packages (``-S``): el paquete del curso no está instalado."""
    programa = codigo_previo + "\n" + colab.celda_instalar() + "\nprint('CAPA_DATOS_DIR =', os.environ.get('CAPA_DATOS_DIR'))"
    return subprocess.run([sys.executable, "-S", "-c", programa], capture_output=True, text=True,
                          env=entorno, cwd=cwd, timeout=120)


def test_fuera_de_colab_la_celda_no_hace_nada(tmp_path: Path) -> None:
    entorno = {k: v for k, v in os.environ.items() if k != "CAPA_DATOS_DIR"}
    r = _ejecutar_celda("import os", {**entorno, "CAPA_DATOS_FUENTE": "file:///no/existe"}, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "CAPA_DATOS_DIR = None\n" and r.stderr == ""


def test_en_colab_si_pip_falla_lo_dice_en_espanol(tmp_path: Path) -> None:
    """Con ``google.colab`` importado y una fuente que no existe: la salida de pip y un error claro."""
    entorno = {k: v for k, v in os.environ.items() if k != "CAPA_DATOS_DIR"}
    fuente = (tmp_path / "no_existe").as_uri()
    previo = "import os, sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')"
    r = _ejecutar_celda(previo, {**entorno, "CAPA_DATOS_FUENTE": fuente}, tmp_path)
    assert r.returncode == 1
    assert "RuntimeError: No se pudo instalar el paquete del curso (arriba, lo que dijo pip)" in r.stderr
    assert "no_existe" in r.stdout, "se muestra lo que dijo pip"
    assert "CAPA_DATOS_DIR" not in r.stdout, "el error corta la celda"


def test_restricciones_de_colab() -> None:
    """El archivo de versiones de Colab dice de dónde sale, su Python y fija todos los paquetes de NOMBRES."""
    import ensayo_colab

    version_py, pines = ensayo_colab.leer_restricciones()
    assert re.fullmatch(r"3\.\d+", version_py)
    assert set(pines) == set(ensayo_colab.NOMBRES)
    assert {"ipython", "pandas", "ipykernel"} <= set(pines)
    assert "googlecolab/backend-info" in ensayo_colab.RESTRICCIONES.read_text(encoding="utf-8")


def test_lee_el_resultado_de_cada_celda() -> None:
    """nbval nombra las celdas ``cuadernos/01_x::ipynb::Cell 3`` (o ``01_x.ipynb::Cell 3``)."""
    import ensayo_colab

    for linea in ("cuadernos/06_ocupacion_del_pool::ipynb::Cell 12 FAILED",
                  "cuadernos/06_ocupacion_del_pool.ipynb::Cell 12 FAILED"):
        encontrado = ensayo_colab.RESULTADO.match(linea)
        assert encontrado and encontrado["celda"] == "Cell 12" and encontrado["res"] == "FAILED", linea
        assert Path(encontrado["cuaderno"]).name == "06_ocupacion_del_pool"
    assert ensayo_colab.RESULTADO.match("cuadernos/06_ocupacion_del_pool::ipynb::Cell 1") is None
