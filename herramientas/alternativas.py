"""Escribe el texto alternativo de cada gráfica de los cuadernos en los metadatos de su celda.

Uso::

    python herramientas/alternativas.py              # escribe los textos que falten o hayan cambiado
    python herramientas/alternativas.py --comprobar  # solo comprueba (código 1 si algo no cuadra)

Por qué existe: quien lee el sitio del curso (``make libro``) con un lector de pantalla no ve
las gráficas; su texto alternativo dice lo que muestran. Los textos viven AQUÍ, en un solo
sitio, y este script los copia a la celda que dibuja cada gráfica, en la clave que lee myst-nb
(Jupyter Book) para las imágenes de las salidas::

    "metadata": {"mystnb": {"image": {"alt": "..."}}}

Las repeticiones animadas del tablero (``tablero.repeticion()``, HTML de matplotlib) llevan su
texto en la misma clave; myst-nb no la aplica al HTML, así que ``herramientas/libro.py`` la pone
en la imagen del reproductor y como pie visible de la animación.

Cada celda se reconoce por un trozo de su código, nunca por su posición (otras herramientas
añaden celdas). Si una gráfica no tiene texto, o un texto no encuentra su celda, el script lo
dice y termina con código 1: al añadir una gráfica a un cuaderno, añade aquí su texto y vuelve
a ejecutarlo. Cambiar un metadato no cambia las salidas (nbval no los compara).
"""

from __future__ import annotations

import sys
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
CUADERNOS = RAIZ / "notebooks"

# Marca del HTML de ``FuncAnimation.to_jshtml()``: la imagen del reproductor de la animación.
MARCA_ANIMACION = "_anim_img"

# cuaderno (sin .ipynb) -> [(trozo del código de la celda, texto alternativo)]
TEXTOS: dict[str, list[tuple[str, str]]] = {
    "02_liberacion_automatica_with": [
        ("tablero.repeticion()",
         "Animación del tablero del pool «Cinco bloques with abiertos a la vez», con botones para "
         "reproducirla: las fichas de las conexiones se tiñen de prestadas una a una hasta cinco, cada "
         "una con la celda que la pidió y desde cuándo; al cerrarse los bloques vuelven a quedar libres, "
         "y al final hay cinco conexiones abiertas, todas libres, y nadie en la cola."),
        ('titulo="Cinco bloques with abiertos a la vez y una sexta petición"',
         "Gráfica escalonada «Cinco bloques with abiertos a la vez y una sexta petición», conexiones "
         "frente al tiempo: la línea roja (en uso) sube en escalones de 1 a 5, con un ▲ en cada préstamo, "
         "y se queda en 5, el límite naranja MAX_CON; la morada (en cola) sube a 1 con la sexta petición "
         "y sigue en 1 después de la ✖ del PoolTimeout, hasta que los bloques se cierran y las cinco "
         "conexiones vuelven (▼): entonces el rojo cae a 0 y el verde (libres) sube a 5."),
    ],
    "05_agotamiento_del_pool": [
        ("tablero.repeticion()",
         "Animación del tablero del pool «Seis peticiones, cinco conexiones», con botones para "
         "reproducirla: las cinco fichas se tiñen de prestadas; la sexta petición entra en la cola con "
         "una cuenta atrás de TIMEOUT segundos y, al llegar a cero, recibe PoolTimeout, pero sigue en la "
         "cola hasta que se devuelve una conexión; al final las cinco conexiones quedan libres."),
    ],
    "06_ocupacion_del_pool": [
        ('titulo="Seis bloques with seguidos"',
         "Gráfica escalonada «Seis bloques with seguidos», conexiones frente al tiempo, de 0 a 0,7 s: "
         "la línea roja (en uso) alterna entre 0 y 1 seis veces, con un ▲ en cada subida y un ▼ en cada "
         "bajada; la verde (libres) hace lo contrario; la morada (esperando) se queda en 0, muy lejos del "
         "límite naranja de 5 conexiones."),
        ('titulo="getconn() / putconn() a mano"',
         "Gráfica escalonada «getconn() / putconn() a mano», conexiones frente al tiempo, de 0 a 0,4 s: "
         "la línea roja (en uso) sube en escalera de 0 a 3 con tres ▲ y baja de 3 a 0 con tres ▼; la "
         "verde (libres) sube de 0 a 3 al final; la gris discontinua (sesiones en el servidor) sube de 1 "
         "a 3 y se queda en 3; la morada (esperando) marca un pico muy fino en la segunda y la tercera "
         "subida."),
        ('titulo="Agotamiento: seis peticiones, cinco conexiones"',
         "Gráfica escalonada «Agotamiento: seis peticiones, cinco conexiones», conexiones frente al "
         "tiempo, de 0 a 5,5 s: la línea roja (en uso) sube en escalera de 0 a 5, el límite naranja, con "
         "cinco ▲ y se queda en 5; la morada (esperando) marca picos muy finos en las subidas, sube a 1 "
         "tras el último ▲, sigue en 1 después de la ✖ del PoolTimeout y baja a 0 con los cinco ▼, "
         "cuando la roja cae a 0."),
        ('titulo="De cerca: de la ✖ al primer ▼"',
         "Ampliación «De cerca: de la ✖ al primer ▼», de algo más de 1 s alrededor de la ✖ del "
         "PoolTimeout y el primer ▼: la línea morada (esperando) sigue en 1 a la derecha de la ✖ y cae a "
         "0 exactamente encima del ▼, a la vez que la roja (en uso) cae de 5 a 0 y la verde (libres) "
         "sube a 5."),
        ("graficas.comparar_experimentos(",
         "Tres gráficas escalonadas «Ocupación del pool en los experimentos», con la misma escala "
         "vertical y la leyenda en el cuarto hueco: en «with (automático)» la línea roja (en uso) no "
         "pasa de 1; en «getconn/putconn (manual)» sube en escalera a 3 y vuelve a 0, y el pool conserva "
         "las 3 conexiones abiertas; en «agotamiento» sube a 5, la morada (esperando) se queda en 1 unos "
         "3 s, hasta la ✖ del PoolTimeout y algo más, y todo vuelve a 0 al final."),
    ],
    "08_concurrencia_y_tamano": [
        ("graficas.grafica_carga(",
         "Dos gráficas con el mismo eje de tiempo. Arriba, «8 hilos comparten un pool de 4 conexiones»: "
         "las líneas de conexiones en uso (roja) y de peticiones esperando (morada) están en 4 casi todo "
         "el tiempo, una encima de la otra, junto al límite naranja, y la de libres (verde) en 0. Abajo, "
         "«Cuánto esperó cada petición para obtener su conexión»: un punto por petición; las primeras "
         "no esperan y las demás forman una banda estrecha alrededor de la espera media, unos 20 ms."),
        ("tablero.repeticion()",
         "Animación del tablero del pool «Ocho hilos, un pool de cuatro», con botones para "
         "reproducirla: las cuatro fichas están siempre prestadas y pasan de un hilo a otro (cada ficha "
         "dice qué hilo la tiene), mientras la cola muestra a los otros hilos esperando, cada uno con su "
         "cuenta atrás; al terminar la carga las cuatro conexiones quedan libres."),
        ("graficas.grafica_barrido(",
         "Dos gráficas «¿Cuántas conexiones necesita el pool?» frente a max_size (de 1 a 8 y 12 "
         "conexiones), con 8 hilos: a la izquierda, el rendimiento medido (usos por segundo) sube casi "
         "en línea recta junto a la línea ideal gris hasta 8 conexiones y se aplana de 8 a 12; a la "
         "derecha, la espera media baja desde más de 100 ms con 1 conexión hasta casi 0 con 8 o más."),
        ("graficas.grafica_ganancia(",
         "Gráfica «Ganancia al agrandar el pool: ¿la consulta espera o calcula?», rendimiento relativo "
         "al de una conexión frente a max_size: la línea azul (consulta que espera, pg_sleep) sube hasta "
         "cerca de 8 con 8 conexiones, el techo de los 8 hilos; la marrón (consulta que calcula, count(*)) "
         "no se aleja de la línea roja de los núcleos del procesador: se queda cerca de ella o por debajo, "
         "aunque el pool crezca hasta 8."),
    ],
    "09_fallos_del_servidor": [
        ('titulo="Una sesión cortada mientras estaba prestada"',
         "Gráfica escalonada «Una sesión cortada mientras estaba prestada», conexiones frente al tiempo: "
         "tras el primer ▲ la línea roja (en uso) marca una conexión prestada; en la línea vertical marrón "
         "el servidor corta la sesión y la gris discontinua (sesiones en el servidor) cae a 0 mientras "
         "«en uso» sigue en 1; la consulta falla en la línea vertical negra y, al devolver la conexión "
         "(▼), el pool la descarta y abre otra: la gris y la verde (libres) vuelven a 1. El último ▲▼ es "
         "un uso normal con la conexión nueva."),
    ],
    "11_pool_asincrono": [
        ("asincrono.grafica_hilos_corrutinas(",
         "Tres gráficas «Hilos frente a corrutinas con un pool de 5 conexiones» frente al número de "
         "peticiones a la vez (50, 200 y 500): en la de rendimiento, las líneas de hilos (naranja) y de "
         "corrutinas (azul) van casi juntas, algo por debajo del techo gris de 250 peticiones por "
         "segundo; en la de espera media, las dos suben juntas, pegadas a la espera ideal, hasta cerca "
         "de 1 s con 500; en la de memoria por petición en curso, la de hilos queda varias veces por "
         "encima de la de corrutinas."),
    ],
}


def es_grafica(celda: dict) -> bool:
    """Una celda de código cuya salida es una imagen o una animación de matplotlib."""
    if celda.get("cell_type") != "code":
        return False
    for salida in celda.get("outputs", []):
        datos = salida.get("data", {})
        if "image/png" in datos:
            return True
        html = datos.get("text/html", "")
        if MARCA_ANIMACION in ("".join(html) if isinstance(html, list) else html):
            return True
    return False


def texto_alternativo(celda: dict) -> str | None:
    """El texto guardado en la celda (``metadata.mystnb.image.alt``), o None."""
    return celda.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt")


def repartir(nombre: str, celdas: list[dict]) -> tuple[dict[int, str], list[str]]:
    """``({índice de celda: texto}, problemas)`` de un cuaderno según TEXTOS."""
    textos = TEXTOS.get(nombre, [])
    graficas = [i for i, celda in enumerate(celdas) if es_grafica(celda)]
    problemas: list[str] = []
    asignados: dict[int, str] = {}
    for trozo, texto in textos:
        encontradas = [i for i in graficas if trozo in "".join(celdas[i].get("source", ""))]
        if len(encontradas) != 1:
            donde = "ninguna" if not encontradas else f"{len(encontradas)}"
            problemas.append(f"{nombre}: el texto de «{trozo}» encaja en {donde} celda(s) con gráfica (debe ser 1)")
            continue
        asignados[encontradas[0]] = texto
    for i in graficas:
        if i not in asignados:
            primera = "".join(celdas[i].get("source", "")).splitlines()[0] if celdas[i].get("source") else ""
            problemas.append(f"{nombre}: la gráfica de la celda que empieza por «{primera}» no tiene texto "
                             f"alternativo en herramientas/alternativas.py")
    return asignados, problemas


def procesar(escribir: bool) -> list[str]:
    """Aplica (o solo compara) los textos en todos los cuadernos; devuelve los problemas."""
    import nbformat

    problemas: list[str] = []
    nombres = set()
    for ruta in sorted(CUADERNOS.glob("[0-9]*.ipynb")):
        nombres.add(ruta.stem)
        cuaderno = nbformat.read(ruta, as_version=4)
        asignados, encontrados = repartir(ruta.stem, cuaderno.cells)
        problemas += encontrados
        cambiado = False
        for i, texto in asignados.items():
            celda = cuaderno.cells[i]
            if texto_alternativo(celda) == texto:
                continue
            if not escribir:
                primera = "".join(celda.source).splitlines()[0]
                problemas.append(f"{ruta.stem}: la gráfica de «{primera}» no lleva el texto de "
                                 f"herramientas/alternativas.py (ejecuta python herramientas/alternativas.py)")
                continue
            celda.metadata.setdefault("mystnb", {}).setdefault("image", {})["alt"] = texto
            cambiado = True
        if cambiado:
            nbformat.write(cuaderno, ruta)
            print(f"Textos alternativos escritos en {ruta.name}")
    for nombre in sorted(set(TEXTOS) - nombres):
        problemas.append(f"{nombre}: no existe notebooks/{nombre}.ipynb")
    return problemas


def main(argv: list[str]) -> int:
    comprobar = "--comprobar" in argv
    problemas = procesar(escribir=not comprobar)
    for problema in problemas:
        print(problema, file=sys.stderr)
    if not problemas:
        print("Todas las gráficas de los cuadernos tienen su texto alternativo.")
    return 1 if problemas else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
