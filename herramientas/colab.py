"""El botón «Abrir en Colab» y la celda que instala el curso en Colab, en todos los cuadernos.

La dirección del repositorio vive en un solo sitio: ``Repository`` en ``[project.urls]``
de ``pyproject.toml``. Al publicar el curso en una cuenta de GitHub, cámbiala allí y::

    python herramientas/colab.py              # escribe el botón y la celda en cada cuaderno
    python herramientas/colab.py --comprobar  # solo dice qué cuadernos no están al día (código 1)

Qué escribe en cada cuaderno (``tests/test_colab.py`` comprueba que está al día):

* en la celda del título, debajo de él, el botón que abre el cuaderno en Colab;
* justo después, una frase en Markdown que dice para qué es la celda siguiente, y
* la celda que, **solo en Colab**, instala el paquete del curso desde GitHub. No
  muestra nada si todo va bien (su salida guardada está vacía, en Colab y fuera), y
  si pip falla enseña lo que dijo pip y termina con un error en español. La variable
  ``CAPA_DATOS_FUENTE`` cambia de dónde se instala (``herramientas/ensayo_colab.py``
  instala así desde una copia local, sin GitHub).

Las dos celdas nuevas se reconocen por su metadato ``capa_colab``, no por su
posición, y no salen en las diapositivas (``slide_type: skip``). Vuelve a ejecutar
los cuadernos después (``python tareas.py cuadernos``) para guardar sus salidas.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
CUADERNOS = RAIZ / "notebooks"
RAMA = "main"  # la rama que abren los botones y que instala la celda
METADATO = "capa_colab"
INSIGNIA = "https://colab.research.google.com/assets/colab-badge.svg"
BOTON = re.compile(r"\[!\[Abrir en Colab\]\([^)]*\)\]\([^)]*\)\n*")

NOTA = (
    "**¿Estás en Google Colab?** La celda siguiente instala allí el paquete del curso (tarda un "
    "minuto y no muestra nada si todo va bien). Ejecútala antes que las demás, y otra vez si reinicias el "
    "entorno de ejecución. En tu equipo o en "
    "Binder no hace nada: el curso ya está instalado."
)

CELDA = '''\
# Solo en Google Colab: instala el paquete del curso. En tu equipo o en Binder no hace nada.
import sys

if "google.colab" in sys.modules:
    import importlib.util
    import os
    import subprocess

    os.environ.setdefault("CAPA_DATOS_DIR", "/var/tmp/capa_datos")  # los datos de PostgreSQL
    if importlib.util.find_spec("capa_datos_persona") is None:
        fuente = os.environ.get("CAPA_DATOS_FUENTE", "git+{repositorio}@{rama}")
        orden = [sys.executable, "-m", "pip", "install", "--quiet", f"capa_datos_persona @ {{fuente}}"]
        pip = subprocess.run(orden, capture_output=True, text=True)
        if pip.returncode != 0:
            print(pip.stdout + pip.stderr)
            raise RuntimeError("No se pudo instalar el paquete del curso (arriba, lo que dijo pip). "
                               "Comprueba la conexión a internet y vuelve a ejecutar esta celda.")'''


def repositorio(raiz: Path = RAIZ) -> str:
    """``https://github.com/CUENTA/REPO`` de ``[project.urls] Repository`` en ``pyproject.toml``."""
    datos = tomllib.loads((raiz / "pyproject.toml").read_text(encoding="utf-8"))
    url = datos["project"]["urls"]["Repository"].rstrip("/")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise SystemExit(f"pyproject.toml: Repository debe ser https://github.com/CUENTA/REPO y es {url!r}")
    return url


def boton(nombre: str, raiz: Path = RAIZ) -> str:
    """El botón Markdown que abre ``notebooks/<nombre>`` en Colab."""
    cuenta_repo = repositorio(raiz).removeprefix("https://github.com/")
    enlace = f"https://colab.research.google.com/github/{cuenta_repo}/blob/{RAMA}/notebooks/{nombre}"
    return f"[![Abrir en Colab]({INSIGNIA})]({enlace})"


def celda_instalar(raiz: Path = RAIZ) -> str:
    return CELDA.format(repositorio=repositorio(raiz), rama=RAMA)


def _texto(celda: dict) -> str:
    fuente = celda.get("source", "")
    return fuente if isinstance(fuente, str) else "".join(fuente)


def titulo_con_boton(titulo: str, nombre: str, raiz: Path = RAIZ) -> str:
    """La celda del título con el botón en la línea siguiente al título (y ningún otro botón de Colab)."""
    primera, _, resto = BOTON.sub("", titulo).partition("\n")
    return f"{primera}\n\n{boton(nombre, raiz)}\n\n{resto.lstrip(chr(10))}"


def diferencias(celdas: list[dict], nombre: str, raiz: Path = RAIZ) -> list[str]:
    """Qué no está al día en las celdas de un cuaderno (vacía si todo está bien)."""
    problemas = []
    if _texto(celdas[0]) != titulo_con_boton(_texto(celdas[0]), nombre, raiz):
        problemas.append("el botón «Abrir en Colab» de la celda del título")
    propias = [(i, c) for i, c in enumerate(celdas) if METADATO in c.get("metadata", {})]
    esperadas = [(1, "markdown", "nota", NOTA), (2, "code", "instalar", celda_instalar(raiz))]
    if [(i, c["cell_type"], c["metadata"][METADATO]) for i, c in propias] != [e[:3] for e in esperadas]:
        problemas.append("la nota y la celda de Colab, justo después del título")
    else:
        for (_, celda), (_, _, papel, texto) in zip(propias, esperadas):
            if _texto(celda) != texto:
                problemas.append(f"el texto de la celda «{papel}» de Colab")
            if celda["metadata"].get("slideshow", {}).get("slide_type") != "skip":
                problemas.append(f"la celda «{papel}» de Colab sale en las diapositivas")
    primera_de_codigo = next((c for c in celdas if c["cell_type"] == "code"), None)
    if primera_de_codigo is None or primera_de_codigo.get("metadata", {}).get(METADATO) != "instalar":
        problemas.append("la celda de Colab no es la primera de código")
    return problemas


def actualizar(ruta: Path, raiz: Path = RAIZ) -> bool:
    """Pone al día el botón, la nota y la celda de un cuaderno; ``True`` si cambió algo."""
    import nbformat

    cuaderno = nbformat.read(ruta, as_version=4)
    if not diferencias(cuaderno.cells, ruta.name, raiz):
        return False
    cuaderno.cells[0].source = titulo_con_boton(cuaderno.cells[0].source, ruta.name, raiz)
    viejas = {c.metadata[METADATO]: c for c in cuaderno.cells if METADATO in c.metadata}
    cuaderno.cells = [c for c in cuaderno.cells if METADATO not in c.metadata]
    nota = viejas.get("nota") or nbformat.v4.new_markdown_cell()
    instalar = viejas.get("instalar") or nbformat.v4.new_code_cell()
    for celda, papel, texto in ((nota, "nota", NOTA), (instalar, "instalar", celda_instalar(raiz))):
        celda.source = texto
        celda.metadata[METADATO] = papel
        celda.metadata["slideshow"] = {"slide_type": "skip"}
    cuaderno.cells[1:1] = [nota, instalar]
    nbformat.write(cuaderno, ruta)
    return True


def main(argv: list[str]) -> int:
    cuadernos = sorted(CUADERNOS.glob("[0-9]*.ipynb"))
    if "--comprobar" in argv:
        import json

        malos = {c.name: diferencias(json.loads(c.read_text(encoding="utf-8"))["cells"], c.name) for c in cuadernos}
        for nombre, problemas in malos.items():
            for problema in problemas:
                print(f"{nombre}: {problema}")
        return 1 if any(malos.values()) else 0
    cambiados = [c.name for c in cuadernos if actualizar(c)]
    print(f"Repositorio: {repositorio()}; cuadernos cambiados: {', '.join(cambiados) or 'ninguno'}")
    if cambiados:
        print("Vuelve a ejecutarlos para guardar sus salidas: python tareas.py cuadernos")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
