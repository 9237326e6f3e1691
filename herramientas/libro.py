"""Construye el curso como sitio web estático (Jupyter Book 1), con las salidas guardadas.

Uso (mejor a través de ``tareas.py``, que instala requirements-libro.txt si falta)::

    python tareas.py libro                       # el sitio queda en _build/libro/html/
    python herramientas/libro.py --destino DIR   # en otra carpeta (las pruebas la usan)

Qué hace y por qué así:

* **No ejecuta nada.** El sitio muestra las salidas guardadas en los cuadernos, las que
  comprueba nbval: se construye en segundos, sin PostgreSQL y sin conexión a internet
  (Jupyter Book 2 descargaría un tema al construir).
* **No escribe en notebooks/ ni en docs/.** Copia ``libro/`` (configuración, índice y
  portada), los cuadernos y la guía del instructor a ``<destino>/fuente/`` y construye desde
  esa copia; el HTML queda en ``<destino>/html/``. En la copia, y solo en ella:
  - las soluciones de los ejercicios (celdas con ``metadata.solucion``) y las celdas que solo
    sirven en Colab (``metadata.capa_colab``) llevan la etiqueta ``remove-cell``, así que el
    sitio no las muestra; ``docs/soluciones.md`` no se copia, y
    los enlaces de la guía a ese archivo quedan como texto que dice dónde está;
  - cada animación del tablero recibe su texto alternativo (``metadata.mystnb.image.alt``, ver
    ``herramientas/alternativas.py``) en la imagen del reproductor y como pie visible: myst-nb
    solo lo aplica a las imágenes (PNG), no al HTML;
  - la portada recibe la lista de los cuadernos con sus títulos.
* **Falla con cualquier aviso de Sphinx** (un enlace roto, una página fuera del índice...),
  con código distinto de 0, para que no se publique un sitio con referencias rotas.
* Con ``GITHUB_REPOSITORY`` (``dueño/repositorio``, lo pone GitHub Actions) el sitio enlaza
  el repositorio y abre cada cuaderno en Binder.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import os
import re
import shutil
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
LIBRO = RAIZ / "libro"
CUADERNOS = RAIZ / "notebooks"
DOCS = RAIZ / "docs"
DESTINO = RAIZ / "_build" / "libro"

# Lo que dice que una carpeta es una construcción de este script: solo en una así se borra
# lo que hay (las carpetas fuente/ y html/ de la construcción anterior).
MARCA_DESTINO = ".capa_libro"
MARCA_LISTA = re.compile(r"<!-- lista-de-cuadernos:.*?-->")
MARCA_ANIMACION = "_anim_img"  # la imagen del reproductor de FuncAnimation.to_jshtml()

# Enlaces de docs/ que en el sitio no llevan a ninguna página: destino -> sustituto.
# ``None``: el enlace se queda en texto (su archivo no se publica).
ENLACES_DEL_SITIO: dict[str, str | None] = {
    "soluciones.md": None,
    "guia/": "#4-cuaderno-por-cuaderno",
}
NOTA_SOLUCIONES = "`docs/soluciones.md` (en el repositorio; este sitio no publica las soluciones)"


# --- La copia de la que se construye ------------------------------------------------------


def titulo(cuaderno: dict) -> str:
    """El título del cuaderno: la primera línea ``# ...`` de una celda Markdown."""
    for celda in cuaderno["cells"]:
        if celda["cell_type"] != "markdown":
            continue
        for linea in "".join(celda["source"]).splitlines():
            if linea.startswith("# "):
                return linea[2:].strip()
    raise SystemExit("Un cuaderno no tiene título (una línea «# ...» en una celda Markdown).")


def _html(salida: dict) -> str:
    texto = salida.get("data", {}).get("text/html", "")
    return "".join(texto) if isinstance(texto, list) else texto


def describir_animacion(texto_html: str, alternativo: str) -> str:
    """El HTML de una animación con su texto alternativo: en la imagen y como pie visible."""
    escapado = html.escape(alternativo, quote=True)
    con_alt = texto_html.replace(f'<img id="{MARCA_ANIMACION}', f'<img alt="{escapado}" id="{MARCA_ANIMACION}', 1)
    return (f'<figure class="capa-animacion" role="group" aria-label="{escapado}" style="margin:0">{con_alt}'
            f'<figcaption class="capa-descripcion"><b>Descripción:</b> {html.escape(alternativo)}</figcaption>'
            f"</figure>")


def preparar_cuaderno(cuaderno: dict) -> None:
    """Las soluciones, fuera del sitio; las animaciones, con su texto alternativo (en la copia).

    También quedan fuera las celdas que solo sirven en Google Colab (``metadata.capa_colab``,
    ver ``herramientas/colab.py``): en el sitio no se ejecuta nada. La insignia «Abrir en Colab»
    del título sí se ve.
    """
    for celda in cuaderno["cells"]:
        metadatos = celda.setdefault("metadata", {})
        if metadatos.get("solucion") or metadatos.get("capa_colab"):
            etiquetas = metadatos.setdefault("tags", [])
            if "remove-cell" not in etiquetas:
                etiquetas.append("remove-cell")
        alternativo = metadatos.get("mystnb", {}).get("image", {}).get("alt")
        if celda["cell_type"] != "code" or not alternativo:
            continue
        for salida in celda.get("outputs", []):
            texto = _html(salida)
            if f'<img id="{MARCA_ANIMACION}' in texto:
                salida["data"]["text/html"] = describir_animacion(texto, alternativo)


def adaptar_enlaces(texto: str) -> str:
    """Los enlaces de la guía que en el sitio no llevan a ninguna página (ENLACES_DEL_SITIO)."""

    def sustituir(m: re.Match) -> str:
        etiqueta, destino = m.group(1), m.group(2)
        if destino not in ENLACES_DEL_SITIO:
            return m.group(0)
        nuevo = ENLACES_DEL_SITIO[destino]
        if nuevo is None:
            return NOTA_SOLUCIONES if destino == "soluciones.md" else etiqueta
        return f"[{etiqueta}]({nuevo})"

    return re.sub(r"\[([^\]]*)\]\(([^)\s]+)\)", sustituir, texto)


def preparar_fuente(fuente: Path) -> list[str]:
    """Escribe en ``fuente`` lo que se construye; devuelve los títulos de los cuadernos."""
    if fuente.exists():
        shutil.rmtree(fuente)
    shutil.copytree(LIBRO, fuente)
    (fuente / "notebooks").mkdir()
    titulos = []
    for ruta in sorted(CUADERNOS.glob("[0-9]*.ipynb")):
        cuaderno = json.loads(ruta.read_text(encoding="utf-8"))
        titulos.append((ruta.name, titulo(cuaderno)))
        preparar_cuaderno(cuaderno)
        (fuente / "notebooks" / ruta.name).write_text(json.dumps(cuaderno, ensure_ascii=False, indent=1),
                                                     encoding="utf-8")
    (fuente / "docs" / "guia").mkdir(parents=True)
    for ruta in [DOCS / "guia_instructor.md", *sorted((DOCS / "guia").glob("*.md"))]:
        destino = fuente / ruta.relative_to(RAIZ)
        destino.write_text(adaptar_enlaces(ruta.read_text(encoding="utf-8")), encoding="utf-8")
    # La portada, con la lista de los cuadernos (el título de cada uno, sin su número: la lista lo pone).
    lista = "\n".join(
        f"{n}. [{re.sub(r'^[0-9]+[.] ', '', t)}](notebooks/{nombre})" for n, (nombre, t) in enumerate(titulos, 1)
    )
    portada = fuente / "portada.md"
    texto = portada.read_text(encoding="utf-8")
    if not MARCA_LISTA.search(texto):
        raise SystemExit("libro/portada.md ha perdido la marca <!-- lista-de-cuadernos: ... -->.")
    portada.write_text(MARCA_LISTA.sub(lambda _: lista, texto), encoding="utf-8")
    repositorio = os.environ.get("GITHUB_REPOSITORY", "")
    if re.fullmatch(r"[\w.-]+/[\w.-]+", repositorio):
        enlazar_repositorio(fuente / "_config.yml", repositorio)
    return [t for _, t in titulos]


def enlazar_repositorio(ruta: Path, repositorio: str) -> None:
    """Botón del repositorio y de Binder (JupyterLab) en cada cuaderno, en el _config.yml copiado."""
    import yaml  # lo trae Jupyter Book

    config = yaml.safe_load(ruta.read_text(encoding="utf-8"))
    config["repository"] = {"url": f"https://github.com/{repositorio}", "branch": "main"}
    config["html"]["use_repository_button"] = True
    config["launch_buttons"].update(binderhub_url="https://mybinder.org", notebook_interface="jupyterlab")
    ruta.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


# --- La construcción ---------------------------------------------------------------------


def preparar_destino(destino: Path) -> None:
    """Crea ``destino`` con su marca; una carpeta con otras cosas y sin la marca no se toca."""
    if destino.exists() and any(destino.iterdir()) and not (destino / MARCA_DESTINO).exists():
        raise SystemExit(f"{destino} no está vacía y no es una construcción del sitio: elige otra carpeta "
                         f"(este script borra lo que construyó antes, y nada más).")
    destino.mkdir(parents=True, exist_ok=True)
    (destino / MARCA_DESTINO).write_text("Construcción de herramientas/libro.py (make libro).\n", encoding="utf-8")


def construir(destino: Path) -> int:
    from jupyter_book.sphinx import build_sphinx

    preparar_destino(destino)
    fuente, html_salida = destino / "fuente", destino / "html"
    titulos = preparar_fuente(fuente)
    if html_salida.exists():
        shutil.rmtree(html_salida)
    inicio = time.monotonic()
    # Sphinx informa de su avance por stdout (se calla) y de los avisos por stderr (se muestran).
    with redirect_stdout(io.StringIO()):
        resultado = build_sphinx(
            fuente,
            html_salida,
            noconfig=True,
            path_config=str(fuente / "_config.yml"),
            confoverrides={"external_toc_path": (fuente / "_toc.yml").as_posix(), "latex_individualpages": False},
            doctreedir=destino / ".doctrees",
            freshenv=True,
            warningiserror=True,
            keep_going=True,
            quiet=True,
        )
    segundos = time.monotonic() - inicio
    if resultado != 0 or not (html_salida / "index.html").exists():
        print(f"No se pudo construir el sitio (arriba, los avisos de Sphinx; cada uno cuenta como error). "
              f"Resultado: {resultado!r}", file=sys.stderr)
        return 1
    paginas = len(list(html_salida.rglob("*.html")))
    print(f"Sitio construido en {segundos:.1f} s: {len(titulos)} cuadernos y la guía del instructor, "
          f"{paginas} páginas HTML.")
    print(f"Ábrelo en el navegador: {html_salida / 'index.html'}")
    return 0


def main(argv: list[str]) -> int:
    opciones = argparse.ArgumentParser(description="Construye el sitio web del curso (Jupyter Book 1).")
    opciones.add_argument("--destino", type=Path, default=DESTINO,
                          help="carpeta de la construcción (por defecto _build/libro/)")
    args = opciones.parse_args(argv)
    try:
        import jupyter_book  # noqa: F401
    except ImportError:
        print("Falta Jupyter Book: usa `python tareas.py libro` (o instala requirements-libro.txt).",
              file=sys.stderr)
        return 2
    return construir(args.destino.resolve())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
