"""Medidas de rendimiento del curso: imprime tablas en Markdown.

Uso (desde la raíz del repositorio)::

    python benchmarks/medir.py                    # todo (unos minutos)
    python benchmarks/medir.py --rapido           # comprobación rápida, sin memoria
    python benchmarks/medir.py --repeticiones 9   # más rondas
    python benchmarks/medir.py --sin-memoria      # sin ejecutar los cuadernos

Este archivo es el punto de entrada: lee las opciones, lanza cada medida y
imprime las tablas. Cada medida vive en su módulo (ver benchmarks/README.md):

* :mod:`operaciones` y :mod:`tablas_operaciones`: microsegundos por operación
  y sobrecostes del registrador de ocupación y del detector de fugas;
* :mod:`arranque`: arranque en frío y en caliente del PostgreSQL embebido;
* :mod:`memoria`: pico de memoria del kernel y el servidor con todos los cuadernos;
* :mod:`maquina`: la descripción de la máquina; :mod:`_comun` y
  :mod:`_markdown`: procesos hijos, carpetas temporales y tablas.

Cada medida corre en un proceso aparte (este mismo script con una opción
interna). El servidor embebido siempre usa una carpeta temporal (nunca los datos
del alumno en ``.capa_datos/``), que se borra al terminar. Si hay
``DATABASE_URL`` o variables ``PG*``, las operaciones se miden además contra ese
servidor externo.

Las tablas salen por la salida estándar (siempre en UTF-8) y los mensajes de
progreso por la de errores: ``python benchmarks/medir.py > resultados.md``
guarda solo las tablas.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import _comun  # noqa: F401  (primero: pone la raíz del repositorio en sys.path)
import arranque
import memoria
import operaciones
from _comun import escribir_resultado
from _markdown import tabla
from capa_datos_persona._consola import FormatoAyuda, en_espanol
from maquina import carga_media, describir_maquina
from operaciones import Plan
from tablas_operaciones import formatear_objetivos, formatear_operaciones, nombre_columna


def filas_maquina(maquina: list[tuple[str, str]], resultados_ops: list[dict[str, Any]]) -> list[list[str]]:
    """La tabla «Máquina»: lo descrito al empezar, la carga al terminar y las versiones de PostgreSQL."""
    filas = [list(fila) for fila in maquina]
    carga_final = carga_media()
    if carga_final:
        filas.append(["Carga media al terminar (1, 5, 15 min)", carga_final])
    for r in resultados_ops:
        filas.append([f"PostgreSQL ({'embebido' if r['tipo'] == 'embebido' else 'externo'})", r["version"]])
    return filas


def imprimir(maquina: list[list[str]], secciones: list[str], notas: list[str]) -> None:
    print("# Medidas de rendimiento de capa_datos_persona")
    print()
    print(f"Orden: `{' '.join(['python benchmarks/medir.py', *sys.argv[1:]])}`")
    print()
    print(tabla(["Máquina", ""], maquina))
    for seccion in secciones:
        print()
        print(seccion)
    if notas:
        print()
        print("## Avisos")
        print()
        for nota in notas:
            print(f"- {nota}")


def principal(args: argparse.Namespace) -> int:
    """Mide todo, imprime las tablas y devuelve 1 si algo no se pudo medir."""
    plan = Plan.elegir(args.rapido, args.repeticiones)
    memoria_activa = (not args.rapido) if args.memoria is None else args.memoria
    notas: list[str] = []
    maquina = describir_maquina()  # al empezar: la carga media es la de antes de medir
    resultados_ops = operaciones.medir_en_servidores(plan, args.rapido, notas)
    frios, calientes = arranque.medir_arranques(args.rapido, notas)
    medida_memoria = memoria.medir_memoria(notas) if memoria_activa else None

    secciones: list[str] = []
    if resultados_ops:
        secciones += [formatear_operaciones(resultados_ops, plan), formatear_objetivos(resultados_ops)]
        notas += [f"{nombre_columna(r)}: quedaron {r['prestadas_al_final']} conexiones sin devolver."
                  for r in resultados_ops if r["prestadas_al_final"]]
    secciones.append(arranque.formatear_arranques(frios, calientes))
    if medida_memoria is not None:
        secciones.append(memoria.formatear_memoria(medida_memoria))
    elif not memoria_activa:
        secciones.append(memoria.formatear_sin_memoria())
    imprimir(filas_maquina(maquina, resultados_ops), secciones, notas)
    return 1 if notas else 0


class _Analizador(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        for ingles, espanol in (
            ("unrecognized arguments", "argumentos no reconocidos"),
            ("invalid int value", "no es un número entero"),
            ("expected one argument", "falta el valor"),
            ("argument ", "opción "),
        ):
            message = message.replace(ingles, espanol)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def crear_analizador() -> argparse.ArgumentParser:
    analizador = en_espanol(
        _Analizador(
            prog="python benchmarks/medir.py",
            description="Mide el coste del pool del curso y de sus herramientas; imprime tablas en Markdown.",
            formatter_class=FormatoAyuda,
            add_help=False,
        )
    )
    analizador.add_argument("--rapido", action="store_true",
                            help="pocas operaciones y rondas, un solo arranque, sin memoria (comprobación rápida)")
    analizador.add_argument("--repeticiones", type=int, metavar="N",
                            help="rondas de cada medida de operaciones (por defecto 7; 2 con --rapido)")
    analizador.add_argument("--memoria", action="store_true", default=None,
                            help="ejecutar los cuadernos y medir la memoria (por defecto sí, salvo con --rapido)")
    analizador.add_argument("--sin-memoria", dest="memoria", action="store_false",
                            help="no ejecutar los cuadernos ni medir la memoria")
    # Uso interno: los procesos hijos.
    analizador.add_argument("--_operaciones", action="store_true", help=argparse.SUPPRESS)
    analizador.add_argument("--_arranque", action="store_true", help=argparse.SUPPRESS)
    analizador.add_argument("--_cuadernos", action="store_true", help=argparse.SUPPRESS)
    analizador.add_argument("--_salida", help=argparse.SUPPRESS)
    return analizador


def medida_hija(args: argparse.Namespace) -> dict[str, Any] | None:
    """Si este proceso es un hijo (opción interna), hace su medida; si no, ``None``."""
    if args._operaciones:
        return operaciones.medir_operaciones(Plan.elegir(args.rapido, args.repeticiones))
    if args._arranque:
        return arranque.medir_arranque()
    if args._cuadernos:
        return memoria.ejecutar_cuadernos()
    return None


def main(argv: list[str] | None = None) -> int:
    if hasattr(sys.stdout, "reconfigure"):  # en Windows la consola usa cp1252: µ, ≤, × y — no cabrían
        sys.stdout.reconfigure(encoding="utf-8")
    analizador = crear_analizador()
    args = analizador.parse_args(argv)
    if args.repeticiones is not None and args.repeticiones < 1:
        analizador.error("--repeticiones debe ser 1 o más")
    hijo = medida_hija(args)
    if hijo is not None:
        escribir_resultado(Path(args._salida), hijo)
        return 0
    return principal(args)


if __name__ == "__main__":
    sys.exit(main())
