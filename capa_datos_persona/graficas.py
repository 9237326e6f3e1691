"""Gráficas de ocupación del pool (matplotlib), pensadas para proyectar en clase.

* :func:`grafica_ocupacion`: un registro, con líneas escalonadas (en uso,
  disponibles, esperando, sesiones en el servidor), el límite ``MAX_CON`` y
  marcas de los eventos.
* :func:`comparar_experimentos`: varios registros lado a lado, misma escala.

Las funciones devuelven la figura; en un cuaderno basta con asignarla
(``fig = ...``) para que se muestre una sola vez.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .conexion import Conexion
from .experimentos import Experimento
from .ocupacion import RegistradorOcupacion

TAMANO_LETRA = 13

SERIES = (
    # columna, etiqueta, color, estilo, grosor
    ("en_uso", "en uso (prestadas)", "tab:red", "-", 2.8),
    ("disponibles", "disponibles (libres en el pool)", "tab:green", "-", 2.0),
    ("esperando", "peticiones esperando", "tab:purple", "-", 2.0),
    ("sesiones_servidor", "sesiones en el servidor (pg_stat_activity)", "0.35", "--", 1.6),
)

EVENTOS = {
    # evento: (marcador, color, etiqueta)
    "obtenida": ("^", "tab:red", "obtenida"),
    "devuelta": ("v", "tab:green", "devuelta"),
    "timeout": ("X", "black", "PoolTimeout"),
    "cerrado": ("s", "tab:blue", "pool cerrado"),
}


def grafica_ocupacion(
    registro: RegistradorOcupacion,
    titulo: str = "Ocupación del pool",
    ax: Axes | None = None,
    maximo: int | None = None,
    leyenda: bool = True,
) -> Figure:
    """Dibuja un registro de ocupación y devuelve la figura."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 5), layout="constrained")
    else:
        fig = ax.figure  # type: ignore[assignment]
    maximo = Conexion.MAX_CON if maximo is None else maximo
    muestras = registro.muestras
    for columna, etiqueta, color, estilo, grosor in SERIES:
        datos = muestras[["t", columna]].dropna()
        if datos.empty:
            continue
        ax.step(datos["t"], datos[columna].astype(float), where="post", color=color, linestyle=estilo,
                linewidth=grosor, label=etiqueta)
    ax.axhline(maximo, color="tab:orange", linestyle=":", linewidth=2.2, label=f"límite MAX_CON = {maximo}")

    eventos = registro.eventos
    for nombre, (marcador, color, etiqueta) in EVENTOS.items():
        instantes = eventos.loc[eventos["evento"] == nombre, "t"]
        if len(instantes):
            ax.scatter(instantes, [-0.45] * len(instantes), marker=marcador, color=color, s=70, zorder=3,
                       label=f"evento: {etiqueta}", clip_on=False)

    ax.set_title(titulo, fontsize=TAMANO_LETRA + 2)
    ax.set_xlabel("tiempo (s)", fontsize=TAMANO_LETRA)
    ax.set_ylabel("conexiones", fontsize=TAMANO_LETRA)
    # Normalmente basta con MAX_CON; con muchos hilos esperando, la escala crece con ellos.
    tope = max(maximo, int(muestras["esperando"].max()) if len(muestras) else 0)
    ax.set_ylim(-0.8, tope + 1.5)
    ax.set_yticks(range(0, tope + 2))
    ax.tick_params(labelsize=TAMANO_LETRA - 1)
    ax.grid(True, alpha=0.3)
    if leyenda:
        ax.legend(loc="upper left", fontsize=TAMANO_LETRA - 3, framealpha=0.9)
    return fig


def comparar_experimentos(experimentos: Sequence[Experimento]) -> Figure:
    """Los experimentos lado a lado, con el mismo eje vertical y una leyenda común."""
    fig, ejes = plt.subplots(1, len(experimentos), figsize=(6 * len(experimentos), 5.5), sharey=True,
                             layout="constrained")
    ejes = list(ejes) if len(experimentos) > 1 else [ejes]
    for ax, exp in zip(ejes, experimentos):
        grafica_ocupacion(exp.registro, titulo=exp.nombre, ax=ax, leyenda=False)
    for ax in ejes[1:]:
        ax.set_ylabel("")
    manejadores: dict[str, Line2D] = {}
    for ax in ejes:
        for h, etiqueta in zip(*ax.get_legend_handles_labels()):
            manejadores.setdefault(etiqueta, h)
    fig.legend(list(manejadores.values()), list(manejadores.keys()), loc="outside lower center",
               ncol=4, fontsize=TAMANO_LETRA - 2)
    fig.suptitle("Ocupación del pool en los tres experimentos", fontsize=TAMANO_LETRA + 4)
    return fig
