"""De punta a punta, como un alumno: JupyterLab en un Chromium real.

Arranca JupyterLab en un puerto libre de 127.0.0.1 con un token y sin ajustes de
usuario (los de un alumno recién llegado: valen los del entorno, que tareas.py
deja en español y sin la ventana de noticias), abre con el Chromium del sistema
(Playwright, sin descargar navegadores) una COPIA del cuaderno 2, comprueba que
los menús están en español, ejecuta todas sus celdas y comprueba que aparecen
una línea de salida conocida y la gráfica de ocupación, y que no salió ninguna
ventana emergente (la de noticias de Jupyter). Si el cuaderno usa el tablero
del pool (``laboratorio/tablero.py``), comprueba también que se ve. Guarda las
capturas en la carpeta temporal de la prueba. Sin Chromium (o si el único es un
snap) o sin Playwright se salta con un motivo.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from _jupyterlab import CHROMIUM, RAIZ, SIN_CHROMIUM, JupyterLab, jupyterlab, lanzar_chromium

CUADERNO = "02_liberacion_automatica_with.ipynb"
LINEA_CONOCIDA = "procesos del servidor distintos: 1"
ULTIMA_LINEA = "Sesiones de este kernel abiertas en el servidor: 0"
MODULO_TABLERO = RAIZ / "capa_datos_persona" / "laboratorio" / "tablero.py"
CLASE_TABLERO = "tp-tablero"  # el elemento raíz del HTML que dibuja Tablero (tablero.py, _dibujar)
# El paquete de idioma traduce «File» pero no todavía «Run»: se aceptan las dos formas de lo
# que no se comprueba, para que la prueba no se rompa el día que lo traduzca.
MENU_EJECUTAR = re.compile(r"^(Run|Ejecutar)$")
EJECUTAR_TODO = re.compile(r"^(Run All Cells|Ejecutar todas las celdas)$")

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright no está instalado")
nbformat = pytest.importorskip("nbformat", reason="nbformat no está instalado")
pytestmark = [
    pytest.mark.slow,  # arranca JupyterLab y un navegador: decenas de segundos
    pytest.mark.skipif(CHROMIUM is None, reason=SIN_CHROMIUM),
]


def _usa_el_tablero() -> bool:
    """¿El cuaderno 2 dibuja el tablero del pool? (Si aún no, esa parte de la prueba no se hace.)"""
    if not MODULO_TABLERO.exists():
        return False
    cuaderno = nbformat.read(RAIZ / "notebooks" / CUADERNO, as_version=4)
    return any("Tablero" in celda.source for celda in cuaderno.cells if celda.cell_type == "code")


@pytest.fixture
def jupyterlab_con_copia(tmp_path: Path) -> Iterator[tuple[JupyterLab, Path]]:
    """JupyterLab sirviendo una copia del cuaderno 2 (el original no se modifica)."""
    carpeta = tmp_path / "cuadernos"
    carpeta.mkdir()
    # Copia SIN salidas: lo que aparezca en pantalla lo habrá producido esta ejecución.
    cuaderno = nbformat.read(RAIZ / "notebooks" / CUADERNO, as_version=4)
    for celda in cuaderno.cells:
        if celda.cell_type == "code":
            celda.outputs, celda.execution_count = [], None
    nbformat.write(cuaderno, carpeta / CUADERNO)
    with jupyterlab(carpeta, tmp_path, como_alumno=True) as servidor:
        yield servidor, tmp_path


def test_jupyterlab_ejecuta_el_cuaderno_with(jupyterlab_con_copia: tuple[JupyterLab, Path]) -> None:
    servidor, carpeta = jupyterlab_con_copia
    captura = carpeta / "jupyterlab_cuaderno_2.png"
    captura_tablero = carpeta / "tablero.png"
    con_tablero = _usa_el_tablero()
    if con_tablero:
        assert f'class="{CLASE_TABLERO}"' in MODULO_TABLERO.read_text(encoding="utf-8"), (
            f"tablero.py ya no dibuja class=\"{CLASE_TABLERO}\": actualiza CLASE_TABLERO en esta prueba"
        )
    with playwright_api.sync_playwright() as p:
        navegador = lanzar_chromium(p)
        try:
            pagina = navegador.new_page(viewport={"width": 1400, "height": 1000})
            pagina.goto(servidor.direccion(f"lab/tree/{CUADERNO}"))
            pagina.locator(".jp-Notebook").first.wait_for(timeout=60_000)
            menus = pagina.locator(".lm-MenuBar-itemLabel").all_inner_texts()
            assert "Archivo" in menus and "File" not in menus, (
                f"JupyterLab no está en español (menús: {menus}): falta el overrides.json que escribe tareas.py"
            )
            # JupyterLab puede preguntar qué kernel usar: el del cuaderno (Python 3), el botón de aceptar
            elegir = pagina.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
            try:
                elegir.first.click(timeout=5_000)
            except playwright_api.TimeoutError:
                pass
            # esperar a que el kernel esté listo antes de ejecutar
            pagina.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=60_000)
            assert pagina.locator(".jp-OutputArea-output").count() == 0  # la copia no trae salidas
            pagina.locator(".lm-MenuBar-itemLabel", has_text=MENU_EJECUTAR).first.click()
            pagina.locator(".lm-Menu-itemLabel", has_text=EJECUTAR_TODO).first.click()
            salidas = pagina.locator(".jp-OutputArea-output")
            salidas.filter(has_text=LINEA_CONOCIDA).first.wait_for(timeout=120_000)
            salidas.filter(has_text=ULTIMA_LINEA).first.wait_for(timeout=120_000)
            grafica = pagina.locator(".jp-RenderedImage img").first
            grafica.wait_for(timeout=30_000)
            grafica.scroll_into_view_if_needed()
            assert grafica.evaluate("img => img.naturalWidth") > 500
            pagina.screenshot(path=str(captura))
            if con_tablero:
                # el estado final del tablero, que queda en la salida al terminar la celda
                tablero = pagina.locator(f".jp-OutputArea-output .{CLASE_TABLERO}").first
                tablero.wait_for(state="attached", timeout=30_000)
                tablero.scroll_into_view_if_needed()
                tablero.wait_for(state="visible", timeout=10_000)
                caja = tablero.bounding_box()
                assert caja is not None and caja["width"] > 300 and caja["height"] > 100, caja
                assert caja["y"] < 1000 and caja["y"] + caja["height"] > 0, "el tablero no quedó a la vista"
                pagina.screenshot(path=str(captura_tablero))
            # La pregunta de las noticias sale al arrancar (si no se desactivó): a estas alturas, ya estaría.
            avisos = pagina.locator(".Toastify__toast").all_inner_texts()
            assert not avisos, f"salió una ventana emergente: {avisos}"
        finally:
            navegador.close()
    assert captura.stat().st_size > 10_000
    print(f"Captura guardada en {captura}")
    if con_tablero:
        assert captura_tablero.stat().st_size > 10_000
        print(f"Captura del tablero guardada en {captura_tablero}")
    else:
        print(f"El cuaderno 2 aún no usa el tablero del pool ({MODULO_TABLERO.name}): no se comprueba.")
