"""El curso como sitio web (``make libro``): textos alternativos, soluciones ocultas y el sitio en un navegador.

Las pruebas rápidas miran los cuadernos: cada gráfica (imagen PNG o animación del tablero)
lleva en su celda un texto alternativo en español, el mismo que dice
``herramientas/alternativas.py``. Las lentas construyen el sitio una vez, con
``herramientas/libro.py`` (lo mismo que ``make libro``), en una carpeta temporal que se borra
al terminar, y comprueban su HTML; la del navegador lo sirve en 127.0.0.1 y abre la página de
un cuaderno con gráficas en el Chromium del sistema, sin salir a internet.
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from _jupyterlab import CHROMIUM, RAIZ, SIN_CHROMIUM, lanzar_chromium

sys.path.insert(0, str(RAIZ / "herramientas"))
import alternativas  # noqa: E402  (herramientas/alternativas.py)
import libro  # noqa: E402  (herramientas/libro.py)

CUADERNOS = sorted((RAIZ / "notebooks").glob("[0-9]*.ipynb"))
CUADERNO_NAVEGADOR = "06_ocupacion_del_pool"
# Palabras muy frecuentes en español: un texto alternativo en español lleva varias.
PALABRAS_ES = {"el", "la", "los", "las", "de", "del", "en", "con", "que", "y", "una", "un", "por", "se"}
PALABRAS_EN = {"the", "and", "of", "shows", "chart", "line", "plot", "time"}  # («with» es Python)


def _celdas(ruta: Path) -> list[dict]:
    return json.loads(ruta.read_text(encoding="utf-8"))["cells"]


def _graficas(ruta: Path) -> list[dict]:
    """Las celdas cuya salida es una imagen PNG o la animación de matplotlib (``to_jshtml``)."""
    encontradas = []
    for celda in _celdas(ruta):
        for salida in celda.get("outputs", []):
            datos = salida.get("data", {})
            if "image/png" in datos or "_anim_img" in "".join(datos.get("text/html", "")):
                encontradas.append(celda)
                break
    return encontradas


def _alternativo(celda: dict) -> str:
    return celda.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt") or ""


# --- Los cuadernos ---------------------------------------------------------------------------


@pytest.mark.parametrize("cuaderno", CUADERNOS, ids=lambda c: c.stem)
def test_cada_grafica_tiene_texto_alternativo_en_espanol(cuaderno: Path) -> None:
    for celda in _graficas(cuaderno):
        texto = _alternativo(celda)
        primera = "".join(celda["source"]).splitlines()[0]
        assert len(texto) >= 80, f"«{primera}»: sin texto alternativo (metadata.mystnb.image.alt) o demasiado corto"
        palabras = re.findall(r"[a-záéíóúñü]+", texto.lower())
        assert len(PALABRAS_ES.intersection(palabras)) >= 4, f"«{primera}»: el texto alternativo no parece español"
        assert not PALABRAS_EN.intersection(palabras), f"«{primera}»: el texto alternativo tiene palabras en inglés"
        assert "<Figure" not in texto


def test_hay_graficas_que_describir() -> None:
    """Si la detección de gráficas dejara de ver alguna, la prueba anterior no comprobaría nada."""
    assert sum(len(_graficas(c)) for c in CUADERNOS) >= 14


def test_los_textos_de_los_cuadernos_son_los_de_alternativas_py() -> None:
    problemas = alternativas.procesar(escribir=False)
    assert not problemas, "\n".join(problemas)


def test_una_grafica_sin_texto_se_detecta() -> None:
    """El script no da por buena una gráfica nueva sin texto, ni un texto que no encuentra su celda."""
    png = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}, "metadata": {}}
    celdas = [{"cell_type": "code", "source": "fig = nueva_grafica()", "metadata": {}, "outputs": [png]}]
    asignados, problemas = alternativas.repartir("99_inventado", celdas)
    assert asignados == {} and len(problemas) == 1 and "nueva_grafica" in problemas[0]


# --- La copia de la que se construye el sitio ------------------------------------------------


def test_la_copia_oculta_soluciones_y_celdas_de_colab_y_describe_las_animaciones() -> None:
    animacion = '<div><img id="_anim_imgtablero1"><script>/* fotogramas */</script></div>'
    cuaderno = {"cells": [
        {"cell_type": "markdown", "source": "<details>...</details>", "metadata": {"solucion": "01.1"}},
        {"cell_type": "code", "source": "# Solo en Google Colab", "outputs": [], "metadata": {"capa_colab": "instalar"}},
        {"cell_type": "code", "source": "tablero.repeticion()", "outputs": [
            {"output_type": "execute_result", "data": {"text/html": animacion, "text/plain": "<HTML>"}}],
         "metadata": {"mystnb": {"image": {"alt": "Animación «A & B» del tablero"}}}},
    ]}
    libro.preparar_cuaderno(cuaderno)
    assert "remove-cell" in cuaderno["cells"][0]["metadata"]["tags"]
    assert "remove-cell" in cuaderno["cells"][1]["metadata"]["tags"]
    nuevo = cuaderno["cells"][2]["outputs"][0]["data"]["text/html"]
    assert '<img alt="Animación «A &amp; B» del tablero" id="_anim_imgtablero1">' in nuevo
    assert "<figcaption" in nuevo and 'aria-label="Animación «A &amp; B» del tablero"' in nuevo
    assert "tags" not in cuaderno["cells"][2]["metadata"]


def test_los_enlaces_a_lo_que_no_se_publica_quedan_en_texto() -> None:
    texto = "Soluciones: [soluciones.md](soluciones.md). Guías en [docs/guia/](guia/); [otra](guia/01_preparacion.md)."
    adaptado = libro.adaptar_enlaces(texto)
    assert "](soluciones.md)" not in adaptado and "docs/soluciones.md" in adaptado
    assert "[docs/guia/](#4-cuaderno-por-cuaderno)" in adaptado
    assert "[otra](guia/01_preparacion.md)" in adaptado
    guia = (RAIZ / "docs" / "guia_instructor.md").read_text(encoding="utf-8")
    assert "## 4. Cuaderno por cuaderno" in guia, "el ancla de ENLACES_DEL_SITIO (herramientas/libro.py) ya no existe"


def test_no_construye_en_una_carpeta_ajena(tmp_path: Path) -> None:
    """Construir borra la construcción anterior: en una carpeta con otras cosas, no empieza ni borra nada."""
    (tmp_path / "html").mkdir()
    (tmp_path / "html" / "mio.txt").write_text("no es del curso")
    with pytest.raises(SystemExit, match="no está vacía"):
        libro.preparar_destino(tmp_path)
    assert (tmp_path / "html" / "mio.txt").read_text() == "no es del curso"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["html"]


# --- El sitio construido (lento: Jupyter Book) -----------------------------------------------


@pytest.fixture(scope="module")
def sitio() -> Iterator[Path]:
    """El sitio construido con herramientas/libro.py en una carpeta temporal (se borra al terminar)."""
    pytest.importorskip("jupyter_book", reason="Jupyter Book no está instalado (requirements-libro.txt)")
    carpeta = Path(tempfile.mkdtemp(prefix="capa_libro_"))
    try:
        proceso = subprocess.run(
            [sys.executable, str(RAIZ / "herramientas" / "libro.py"), "--destino", str(carpeta)],
            capture_output=True, text=True, timeout=600, env={**os.environ, "GITHUB_REPOSITORY": ""},
        )
        assert proceso.returncode == 0, proceso.stdout + proceso.stderr
        assert proceso.stderr == "", f"la construcción avisó de algo:\n{proceso.stderr}"
        assert "Sitio construido" in proceso.stdout
        yield carpeta / "html"
    finally:
        shutil.rmtree(carpeta, ignore_errors=True)


@pytest.mark.slow
def test_el_sitio_tiene_portada_cuadernos_y_guia_sin_soluciones(sitio: Path) -> None:
    portada = (sitio / "portada.html").read_text(encoding="utf-8")
    assert (sitio / "index.html").exists()
    posiciones = [portada.find(f'href="notebooks/{c.stem}.html"') for c in CUADERNOS]
    assert -1 not in posiciones and posiciones == sorted(posiciones), "la portada enlaza los cuadernos en orden"
    assert "Cómo empezar" in portada and "docs/guia_instructor.html" in portada
    for cuaderno in CUADERNOS:
        assert (sitio / "notebooks" / f"{cuaderno.stem}.html").exists()
    assert (sitio / "docs" / "guia_instructor.html").exists()
    for guia in (RAIZ / "docs" / "guia").glob("*.md"):
        assert (sitio / "docs" / "guia" / f"{guia.stem}.html").exists()
    assert not list(sitio.rglob("soluciones*.html")), "docs/soluciones.md no se publica"
    for pagina in sitio.rglob("*.html"):
        texto = pagina.read_text(encoding="utf-8")
        assert "Solución del ejercicio" not in texto, f"{pagina.relative_to(sitio)} muestra una solución"
        assert "Solo en Google Colab" not in texto, f"{pagina.relative_to(sitio)} muestra la celda de Colab"


@pytest.mark.slow
@pytest.mark.parametrize("cuaderno", [c for c in CUADERNOS if _graficas(c)], ids=lambda c: c.stem)
def test_las_graficas_del_sitio_llevan_su_texto_alternativo(sitio: Path, cuaderno: Path) -> None:
    pagina = (sitio / "notebooks" / f"{cuaderno.stem}.html").read_text(encoding="utf-8")
    # Las imágenes de las salidas: PNG que myst-nb guarda en _images/ y la del reproductor de cada animación.
    imagenes = re.findall(r'<img[^>]*(?:src="[./]*_images/[^"]+"|id="_anim_img)[^>]*>', pagina)
    esperados = [_alternativo(c) for c in _graficas(cuaderno)]
    alts = [re.search(r'alt="([^"]*)"', img) for img in imagenes]
    assert len(imagenes) == len(esperados), imagenes
    assert [html.unescape(m.group(1)) if m else "" for m in alts] == esperados
    for celda in _graficas(cuaderno):
        if "_anim_img" in json.dumps(celda["outputs"]):
            assert f"<b>Descripción:</b> {html.escape(_alternativo(celda))}</figcaption>" in pagina


class _Silencioso(http.server.SimpleHTTPRequestHandler):
    def log_message(self, formato: str, *args: object) -> None:  # sin una línea por petición
        pass


@pytest.fixture
def servidor_del_sitio(sitio: Path) -> Iterator[str]:
    """El sitio servido en 127.0.0.1, en un puerto libre; se cierra al terminar la prueba."""
    servidor = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Silencioso, directory=str(sitio)))
    hilo = threading.Thread(target=servidor.serve_forever, daemon=True)
    hilo.start()
    try:
        yield f"http://127.0.0.1:{servidor.server_address[1]}"
    finally:
        servidor.shutdown()
        servidor.server_close()
        hilo.join(timeout=10)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason=SIN_CHROMIUM)
def test_el_navegador_muestra_una_pagina_con_graficas(servidor_del_sitio: str, tmp_path: Path) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright no está instalado")
    ruta = RAIZ / "notebooks" / f"{CUADERNO_NAVEGADOR}.ipynb"
    titulo = libro.titulo(json.loads(ruta.read_text(encoding="utf-8")))
    primera_grafica = _alternativo(_graficas(ruta)[0])
    ejercicio = next(c for c in _celdas(ruta) if c.get("metadata", {}).get("solucion"))
    # El principio de la solución tal como se leería en la página (sin las marcas de Markdown).
    inicio_solucion = re.sub(r"<[^>]+>|[*`]", "", "".join(ejercicio["source"])).strip().split("\n")[0][:50]
    assert len(inicio_solucion) > 20, inicio_solucion
    with playwright_api.sync_playwright() as p:
        navegador = lanzar_chromium(p)
        try:
            pagina = navegador.new_page(viewport={"width": 1280, "height": 900})
            # Nada de internet: solo el sitio local (la insignia de Colab y los enlaces externos no cargan).
            pagina.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda ruta_red: ruta_red.abort())
            pagina.goto(f"{servidor_del_sitio}/notebooks/{CUADERNO_NAVEGADOR}.html")
            assert pagina.title().startswith(titulo)
            assert pagina.locator("h1").first.inner_text().strip().startswith(titulo)
            grafica = pagina.locator(".cell_output img").first
            grafica.scroll_into_view_if_needed()
            assert grafica.is_visible()
            pagina.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=grafica.element_handle(),
                                     timeout=30_000)
            assert grafica.evaluate("img => img.naturalWidth") > 500
            assert grafica.get_attribute("alt") == primera_grafica
            assert pagina.get_by_role("img", name=primera_grafica).count() == 1
            # El ejercicio se ve; su solución no está en la página, ni plegada.
            enunciado = pagina.get_by_role("heading", name=f"(ejercicio {ejercicio['metadata']['solucion']})")
            enunciado.scroll_into_view_if_needed()
            assert enunciado.is_visible()
            assert pagina.locator("details", has_text="Solución").count() == 0
            assert inicio_solucion not in pagina.inner_text("body")
            pagina.screenshot(path=str(tmp_path / "sitio.png"))
        finally:
            navegador.close()
