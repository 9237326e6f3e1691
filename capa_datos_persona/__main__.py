"""Línea de órdenes del curso: ``python -m capa_datos_persona ORDEN``.

Órdenes:

* ``estado``: qué servidor se usa, su versión, la URL (contraseña oculta) y los
  ajustes del pool.
* ``reiniciar-bd``: vuelve a crear la tabla ``persona`` con las filas de ejemplo.
* ``detener``: detiene el PostgreSQL embebido (los datos se conservan).
* ``borrar-datos``: detiene el embebido y borra su carpeta de datos (solo si la
  creó el curso; pregunta antes, salvo con ``--si``).
* ``demo``: hace los tres experimentos (with, manual, agotamiento) sin Jupyter,
  imprime un resumen y guarda la gráfica comparativa en un PNG.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from . import servidor
from ._consola import FormatoAyuda, en_espanol
from .conexion import Conexion
from .errores import ErrorCapaDatos
from .logger_base import log


def _estado() -> int:
    elegido = servidor.elegir_servidor()
    print(f"Servidor: {elegido.tipo}")
    if elegido.embebido:
        print(f"Carpeta de datos: {servidor.directorio_base()}")
    pool = Conexion.obtener_pool()
    conectado = Conexion.servidor_conectado()
    assert conectado is not None
    print(f"Conexión: {conectado.descripcion()}")
    with Conexion.obtener_conexion() as conexion:
        version = conexion.execute("SHOW server_version").fetchone()[0]
        base = conexion.execute("SELECT current_database()").fetchone()[0]
        existe = conexion.execute("SELECT to_regclass('persona') IS NOT NULL").fetchone()[0]
        filas = conexion.execute("SELECT count(*) FROM persona").fetchone()[0] if existe else None
    print(f"PostgreSQL {version}, base de datos '{base}'")
    print("Tabla persona: " + ("no existe todavía" if filas is None else f"{filas} filas"))
    print(
        f"Pool '{pool.name}': MIN_CON={Conexion.MIN_CON}, MAX_CON={Conexion.MAX_CON}, "
        f"TIMEOUT={Conexion.TIMEOUT:g} s"
    )
    Conexion.cerrar_conexiones()
    return 0


def _reiniciar() -> int:
    from .esquema import reiniciar_tabla

    reiniciar_tabla()
    Conexion.cerrar_conexiones()
    print("Tabla persona reiniciada con las filas de ejemplo.")
    return 0


def _detener() -> int:
    if servidor.detener_embebido():
        print("PostgreSQL embebido detenido. Los datos se conservan.")
    else:
        print("No había ningún PostgreSQL embebido en marcha.")
    return 0


def _borrar(sin_preguntar: bool = False) -> int:
    base = servidor.directorio_base()
    if not base.exists():
        print(f"No hay datos del PostgreSQL embebido que borrar ({base}).")
        return 0
    if not sin_preguntar:
        if not sys.stdin.isatty():
            print("borrar-datos borra los datos guardados: para hacerlo sin preguntar (en un script), "
                  "añade --si.", file=sys.stderr)
            return 2
        megas = servidor.tamano_datos() / 1e6
        respuesta = input(f"Se borrará la carpeta {base} ({megas:.1f} MB: el servidor y todas las filas "
                          "guardadas). ¿Seguro? [s/N] ")
        if respuesta.strip().lower() not in {"s", "si", "sí"}:
            print("No se borró nada.")
            return 1
    servidor.borrar_datos()
    print(f"Datos del PostgreSQL embebido borrados ({base}).")
    return 0


def _demo(salida: str) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from .laboratorio.experimentos import los_tres, tabla_resumen
    from .laboratorio.graficas import comparar_experimentos

    print("Haciendo los tres experimentos (tardan unos 5 segundos; el agotamiento espera el TIMEOUT)...")
    nivel = log.level
    log.setLevel(logging.WARNING)  # aquí solo interesa el resumen, no cada préstamo
    try:
        experimentos = los_tres()
    finally:
        log.setLevel(nivel)
    tabla = tabla_resumen(experimentos)
    print()
    print(tabla.to_string())
    for exp in experimentos:
        for error in exp.errores:
            print(f"\nError provocado en «{exp.nombre}»: {error}")
    ruta = Path(salida)
    ruta.parent.mkdir(parents=True, exist_ok=True)
    comparar_experimentos(experimentos).savefig(ruta, dpi=100)
    print(f"\nGráfica guardada en: {ruta}")
    return 0


ORDENES = {
    "estado": (_estado, "muestra el servidor, su versión y los ajustes del pool"),
    "reiniciar-bd": (_reiniciar, "vuelve a crear la tabla persona con las filas de ejemplo"),
    "detener": (_detener, "detiene el PostgreSQL embebido (conserva los datos)"),
    "borrar-datos": (_borrar, "detiene el PostgreSQL embebido y borra sus datos"),
    "demo": (_demo, "hace los tres experimentos, resume y guarda la gráfica en un PNG"),
}


def crear_analizador() -> argparse.ArgumentParser:
    analizador = en_espanol(
        argparse.ArgumentParser(
            prog="python -m capa_datos_persona",
            description="Herramientas del curso «Liberar conexiones al pool con psycopg_pool».",
            formatter_class=FormatoAyuda,
            add_help=False,
        )
    )
    sub = analizador.add_subparsers(dest="orden", title="órdenes", metavar="ORDEN")
    for nombre, (_, ayuda) in ORDENES.items():
        orden = en_espanol(
            sub.add_parser(nombre, help=ayuda, description=ayuda, formatter_class=FormatoAyuda, add_help=False)
        )
        if nombre == "borrar-datos":
            orden.add_argument("--si", action="store_true", help="no preguntar (para scripts)")
        if nombre == "demo":
            orden.add_argument(
                "--salida",
                default=str(Path("salidas") / "ocupacion_pool.png"),
                help="ruta del PNG (por defecto: salidas/ocupacion_pool.png)",
            )
    return analizador


def main(argv: Sequence[str] | None = None) -> int:
    analizador = crear_analizador()
    argumentos = analizador.parse_args(argv)
    if argumentos.orden is None:
        analizador.print_help()
        return 2
    try:
        if argumentos.orden == "demo":
            return _demo(argumentos.salida)
        if argumentos.orden == "borrar-datos":
            return _borrar(argumentos.si)
        return ORDENES[argumentos.orden][0]()
    except ErrorCapaDatos as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
