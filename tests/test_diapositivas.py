"""Las diapositivas caben en un proyector de 1280×720.

Cada cuaderno de ``notebooks/``, CON sus salidas guardadas (lo que proyecta
quien enseña), se abre como presentación de jupyterlab-rise en un Chromium
real con la ventana de 1280×720 y se recorren todas sus diapositivas. En cada
una se mide si algo de su contenido queda fuera de la vista. No se ejecuta
ninguna celda: la página arranca un kernel (como al abrir el cuaderno), que
no se usa y se apaga al terminar.

**Cómo se abre.** Con la ruta ``/rise/<cuaderno>`` que sirve la extensión de
servidor de jupyterlab-rise (la orden *Open as Reveal Slideshow*): la
presentación ocupa toda la ventana, como con *Full screen slideshow*. Con los
valores por defecto de RISE (``width``/``height`` ``100%``) reveal.js no
escala nada: 1 píxel CSS es 1 píxel del proyector, y la diapositiva que no
cabe se pega arriba (``top: 0``) y se corta por abajo. Dos ajustes de RISE se
cambian y no tocan la maqueta: ``transition: none`` (sin animaciones entre
diapositivas) y ``auto_select: none`` (RISE no salta solo a la diapositiva de
la celda que selecciona).

**Qué se mide.** Lo que se ve, no las cajas: el rectángulo de cada palabra
(su altura es la de la fuente, de arriba abajo, no la de la línea; los
espacios que cuelgan al final de una línea partida no cuentan) y el de cada
imagen, SVG o lienzo. Se comparan con la zona visible: la ventana menos la
barra de progreso de abajo (3 px), recortada además por cada contenedor con
``overflow`` distinto de ``visible``: lo que queda escondido en un editor de
código, en una salida con barra de desplazamiento o en un bloque de código de
Markdown (el tema de reveal.js limita ``pre code`` a 400 px de alto) tampoco se
ve. Se cuentan también los fragmentos aún no mostrados: ocupan su sitio desde
el principio y se ven al final de la diapositiva. Los márgenes y rellenos de
las celdas que se salen sin texto no cuentan.

**Tolerancia: 1 px**, solo el redondeo de las posiciones fraccionarias. Las
letras con rabo (g, p, paréntesis, guion bajo) llegan al borde de abajo de ese
rectángulo (con la letra de 13-14 px de las celdas, 3-4 px bajo la línea
base): más de 1 px fuera ya son letras cortadas. Se vio en el cuaderno 10: una
salida 5 px bajo el borde, con media línea cortada.

No se mira lo que tapan las flechas de navegación (abajo a la derecha), que se
pintan encima de la diapositiva.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _jupyterlab import CHROMIUM, RAIZ, SIN_CHROMIUM, JupyterLab, confiar, jupyterlab, lanzar_chromium

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright no está instalado")
nbformat = pytest.importorskip("nbformat", reason="nbformat no está instalado")
pytestmark = [
    pytest.mark.slow,  # arranca JupyterLab y un navegador
    pytest.mark.skipif(CHROMIUM is None, reason=SIN_CHROMIUM),
]

ANCHO, ALTO = 1280, 720
TOLERANCIA = 1.0
CUADERNOS = sorted((RAIZ / "notebooks").glob("*.ipynb"))
AJUSTES_RISE = {"jupyterlab-rise/plugin": {"transition": "none", "auto_select": "none"}}
PALABRAS = 10  # primeras palabras de la diapositiva en el mensaje
# Solo 127.0.0.1: RISE pide MathJax a un CDN (los cuadernos no lo usan).
FUERA_DE_CASA = re.compile(r"^(?!https?://127\.0\.0\.1[:/]|data:|blob:)")

# Recorre todas las diapositivas de la presentación (en la página) y mide cada una.
RECORRER = r"""
async (tolerancia) => {
  const esperar = (ms) => new Promise((r) => setTimeout(r, ms));
  const fotograma = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  await document.fonts.ready;
  await Promise.all([...document.images].map((img) => img.complete ? null
    : new Promise((r) => { img.addEventListener('load', r); img.addEventListener('error', r); })));

  const celdasDom = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
  const indiceCelda = (el) => {
    const celda = el.closest('.jp-Cell');
    if (!celda) return null;
    const i = celda.getAttribute('data-windowed-list-index');
    return i === null ? celdasDom.indexOf(celda) : Number(i);
  };
  const REEMPLAZADOS = new Set(['IMG', 'SVG', 'svg', 'CANVAS', 'VIDEO', 'IFRAME', 'OBJECT', 'EMBED']);

  function medir(seccion) {
    const reveal = document.querySelector('.reveal').getBoundingClientRect();
    const vista = {
      top: Math.max(reveal.top, 0), left: Math.max(reveal.left, 0),
      bottom: Math.min(reveal.bottom, window.innerHeight), right: Math.min(reveal.right, window.innerWidth),
    };
    const progreso = document.querySelector('.reveal .progress');
    if (progreso && getComputedStyle(progreso).display !== 'none') {
      const p = progreso.getBoundingClientRect();
      if (p.height > 0 && p.top > vista.top) vista.bottom = Math.min(vista.bottom, p.top);
    }
    // Zona visible de cada elemento: la vista recortada por sus antepasados con overflow (hasta la sección).
    const zonas = new Map([[seccion, {...vista}]]);
    const zona = (el) => {
      if (zonas.has(el)) return zonas.get(el);
      const z = {...zona(el.parentElement)};
      const cs = getComputedStyle(el);
      if (cs.overflowX !== 'visible' || cs.overflowY !== 'visible') {
        const r = el.getBoundingClientRect();
        z.top = Math.max(z.top, r.top); z.bottom = Math.min(z.bottom, r.bottom);
        z.left = Math.max(z.left, r.left); z.right = Math.min(z.right, r.right);
      }
      zonas.set(el, z);
      return z;
    };
    const peor = {};  // dirección -> {px, celdas, caja}: lo que más sobra y las celdas cortadas
    const anotar = (r, el) => {
      if (r.width <= 0 || r.height <= 0) return;
      const z = zona(el);
      const fuera = {abajo: r.bottom - z.bottom, derecha: r.right - z.right,
                     arriba: z.top - r.top, izquierda: z.left - r.left};
      for (const [dir, px] of Object.entries(fuera)) {
        if (px <= tolerancia) continue;
        peor[dir] = peor[dir] || {px: 0, celdas: [], caja: false};
        const celda = indiceCelda(el);
        if (!peor[dir].celdas.includes(celda)) peor[dir].celdas.push(celda);
        if (px > peor[dir].px) {
          // ¿lo corta la ventana o un contenedor con barra de desplazamiento?
          const porLaVista = {abajo: r.bottom > vista.bottom, derecha: r.right > vista.right,
                              arriba: r.top < vista.top, izquierda: r.left < vista.left}[dir];
          Object.assign(peor[dir], {px: Math.round(px * 10) / 10, caja: !porLaVista});
        }
      }
    };
    const recorrer = (el) => {
      for (const hijo of el.childNodes) {
        if (hijo.nodeType === Node.TEXT_NODE) {
          const texto = hijo.textContent;
          if (!texto.trim()) continue;
          const z = zona(el);
          const rango = document.createRange();
          rango.selectNodeContents(hijo);
          const rects = [...rango.getClientRects()];
          if (!rects.some((r) => r.bottom > z.bottom + tolerancia || r.right > z.right + tolerancia
                                 || r.top < z.top - tolerancia || r.left < z.left - tolerancia)) continue;
          // Algo asoma: palabra a palabra, porque un espacio al final de una línea partida
          // (white-space: pre-wrap) cuelga fuera de su caja sin que se vea nada.
          for (const m of texto.matchAll(/\S+/g)) {
            rango.setStart(hijo, m.index);
            rango.setEnd(hijo, m.index + m[0].length);
            for (const r of rango.getClientRects()) anotar(r, el);
          }
        } else if (hijo.nodeType === Node.ELEMENT_NODE) {
          const cs = getComputedStyle(hijo);
          if (cs.display === 'none' || cs.position === 'fixed') continue;
          if (cs.position === 'absolute' && cs.clip !== 'auto') continue;  // solo para lectores de pantalla
          if (REEMPLAZADOS.has(hijo.tagName)) anotar(hijo.getBoundingClientRect(), el);
          else recorrer(hijo);
        }
      }
    };
    recorrer(seccion);
    const celdas = [...seccion.querySelectorAll('.jp-Cell')].map(indiceCelda);
    const texto = (seccion.innerText || seccion.textContent || '').replace(/\s+/g, ' ').trim();
    return {peor, celdas, texto: texto.slice(0, 300)};
  }

  const resultados = [];
  const pilas = [...document.querySelectorAll('.reveal .slides > section')];
  for (let h = 0; h < pilas.length; h++) {
    const hijas = [...pilas[h].querySelectorAll(':scope > section')];
    const hojas = hijas.length ? hijas : [pilas[h]];
    for (let v = 0; v < hojas.length; v++) {
      const seccion = hojas[v];
      let medida = null;
      // Se va por la dirección (#/h/v). Se reintenta: reveal.js reescribe la dirección un
      // momento después de cada cambio y puede pisar la nueva antes de leerla.
      for (let intento = 0; intento < 20 && !medida; intento++) {
        if (!seccion.classList.contains('present')) location.hash = `#/${h}/${v}`;
        for (let i = 0; i < 20 && !seccion.classList.contains('present'); i++) await esperar(25);
        if (!seccion.classList.contains('present')) continue;
        window.dispatchEvent(new Event('resize'));  // reveal.js recoloca la diapositiva
        await fotograma();
        const m = medir(seccion);
        if (seccion.classList.contains('present')) medida = m;
      }
      resultados.push({h, v, ...(medida || {error: 'no se pudo mostrar'})});
    }
  }
  return resultados;
}
"""


def diapositivas_esperadas(cuaderno: Any) -> int:
    """Cuántas diapositivas hace RISE: una por celda ``slide`` o ``subslide`` (y la primera, sea cual sea)."""
    tipos = [c.metadata.get("slideshow", {}).get("slide_type", "-") for c in cuaderno.cells]
    return sum(t in ("slide", "subslide") for t in tipos) + (bool(tipos) and tipos[0] not in ("slide", "subslide"))


@pytest.fixture(scope="module")
def presentaciones(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JupyterLab, Any, Path]]:
    """Un JupyterLab con una copia de notebooks/ (y esa carpeta) y un Chromium, para todos los cuadernos."""
    estado = tmp_path_factory.mktemp("diapositivas")
    carpeta = estado / "cuadernos"
    shutil.copytree(RAIZ / "notebooks", carpeta, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    confiar(sorted(carpeta.glob("*.ipynb")), estado)
    with jupyterlab(carpeta, estado, ajustes=AJUSTES_RISE) as servidor:
        with playwright_api.sync_playwright() as p:
            navegador = lanzar_chromium(p)
            try:
                yield servidor, navegador, carpeta
            finally:
                navegador.close()


def _describir(nombre: str, n: int, medida: dict[str, Any]) -> str:
    lugar = f"{nombre}, diapositiva {n} (h.v = {medida['h']}.{medida['v']}"
    celdas = [c for c in medida.get("celdas", []) if c is not None]
    if celdas:
        lugar += f", celdas {min(celdas)}-{max(celdas)}" if len(set(celdas)) > 1 else f", celda {celdas[0]}"
    lugar += ")"
    if "error" in medida:
        return f"{lugar}: {medida['error']}"
    partes = []
    for direccion in ("abajo", "derecha", "arriba", "izquierda"):
        if direccion in medida["peor"]:
            peor = medida["peor"][direccion]
            donde = " dentro de un cuadro con barra de desplazamiento" if peor["caja"] else ""
            cortadas = ", ".join(str(c) for c in sorted(c for c in peor["celdas"] if c is not None))
            partes.append(f"sobra {peor['px']} px por {direccion}{donde} (celdas cortadas: {cortadas})")
    palabras = " ".join(medida["texto"].split()[:PALABRAS])
    return f"{lugar}: {'; '.join(partes)} — «{palabras}…»"


@pytest.mark.parametrize("cuaderno", CUADERNOS, ids=lambda ruta: ruta.stem)
def test_las_diapositivas_caben_en_un_proyector(presentaciones: tuple[JupyterLab, Any, Path], cuaderno: Path) -> None:
    servidor, navegador, copias = presentaciones
    pagina = navegador.new_page(viewport={"width": ANCHO, "height": ALTO})
    try:
        pagina.route(FUERA_DE_CASA, lambda ruta: ruta.abort())
        pagina.goto(servidor.direccion(f"rise/{cuaderno.name}"))
        pagina.locator(".reveal.ready").first.wait_for(timeout=60_000)
        medidas = pagina.evaluate(RECORRER, TOLERANCIA)
    finally:
        pagina.close()
        servidor.cerrar_sesiones()
    # se recorrieron todas: las que salen de los metadatos slideshow del cuaderno
    assert len(medidas) == diapositivas_esperadas(nbformat.read(copias / cuaderno.name, as_version=4)), (
        f"{cuaderno.name}: RISE hizo {len(medidas)} diapositivas y los metadatos dicen otra cosa"
    )
    problemas = [_describir(cuaderno.name, n, m) for n, m in enumerate(medidas, 1) if "error" in m or m["peor"]]
    assert not problemas, (
        f"{len(problemas)} diapositiva(s) de {cuaderno.name} no caben en {ANCHO}×{ALTO} "
        "(celdas: índice en cuaderno.cells, desde 0):\n" + "\n".join(problemas)
    )
