"""Vuelve a ejecutar los cuadernos y los guarda con sus salidas (sin marcas de tiempo).

Uso (mejor a través de ``tareas.py``, que prepara el entorno)::

    python tareas.py cuadernos                  # todos, en orden
    python tareas.py cuadernos 03 05            # solo los que empiezan así

Cada ejecución usa un PostgreSQL embebido **nuevo**, en una carpeta temporal que
se borra al terminar (nunca tus datos de ``.capa_datos/``): las salidas
guardadas son las de una base de datos recién creada, como en ``make test``.
No guarda en los metadatos de las celdas la hora de cada ejecución, así que
volver a ejecutar un cuaderno sin cambios solo cambia lo que de verdad cambió.
Al final vuelve a escribir ``docs/soluciones.md`` con las soluciones de los cuadernos.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
CUADERNOS = RAIZ / "notebooks"


def elegir(prefijos: list[str]) -> list[Path]:
    todos = sorted(CUADERNOS.glob("[0-9]*.ipynb"))
    if not prefijos:
        return todos
    elegidos = [c for c in todos if any(c.name.startswith(p) for p in prefijos)]
    if not elegidos:
        raise SystemExit(f"Ningún cuaderno empieza por {', '.join(prefijos)}.")
    return elegidos


def quitar_marcas_de_tiempo(cuaderno) -> None:  # type: ignore[no-untyped-def]
    for celda in cuaderno.cells:
        celda.metadata.pop("execution", None)


def ejecutar(ruta: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    cuaderno = nbformat.read(ruta, as_version=4)
    cliente = NotebookClient(
        cuaderno,
        timeout=600,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(CUADERNOS)}},
    )
    cliente.execute()
    quitar_marcas_de_tiempo(cuaderno)
    nbformat.write(cuaderno, ruta)


def main(argv: list[str]) -> int:
    propias = [v for v in ("DATABASE_URL", "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGPASSWORD",
                           "PGDATABASE", "PGSERVICE") if os.environ.get(v)]
    if propias:
        print(f"Las salidas guardadas son las del PostgreSQL embebido: quita {', '.join(propias)} y repite.")
        return 2
    carpeta = tempfile.mkdtemp(prefix="capa_cuadernos_")
    os.environ["CAPA_DATOS_DIR"] = carpeta
    try:
        for ruta in elegir(argv):
            print(f"Ejecutando {ruta.name} ...", flush=True)
            ejecutar(ruta)
    finally:
        from capa_datos_persona import servidor

        servidor.detener_embebido()
        shutil.rmtree(carpeta, ignore_errors=True)
    from soluciones import DESTINO, generar  # herramientas/soluciones.py

    DESTINO.write_text(generar(), encoding="utf-8")
    print("Cuadernos guardados con sus salidas; docs/soluciones.md al día.")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(RAIZ))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main(sys.argv[1:]))
