"""Gráficas de ocupación del pool (matplotlib), pensadas para proyectar en clase.

* :func:`grafica_ocupacion`: un registro, con líneas escalonadas (en uso,
  disponibles, esperando, sesiones en el servidor), el límite ``MAX_CON`` y
  marcas de los eventos.
* :func:`comparar_experimentos`: varios registros en una cuadrícula de dos
  columnas, con la misma escala vertical y una sola leyenda.
* :func:`grafica_carga`, :func:`grafica_barrido`, :func:`grafica_ganancia`: las
  de la carga con varios hilos (:mod:`.concurrencia`, cuaderno 8).

Las funciones devuelven la figura; en un cuaderno basta con asignarla
(``fig = ...``) para que se muestre una sola vez.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..conexion import Conexion
from .ocupacion import RegistradorOcupacion

if TYPE_CHECKING:
    import pandas as pd

    from .concurrencia import Carga


class ConRegistro(Protocol):
    """Algo con nombre y registro de ocupación (por ejemplo un ``experimentos.Experimento``)."""

    nombre: str
    registro: RegistradorOcupacion

TAMANO_LETRA = 13

SERIES = (
    # columna, etiqueta, color, estilo, grosor
    ("en_uso", "en uso (prestadas)", "tab:red", "-", 2.8),
    ("disponibles", "libres (disponibles en el pool)", "tab:green", "-", 2.0),
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
    """Dibuja un registro de ocupación y devuelve la figura.

    La leyenda va **fuera** de los datos: debajo del gráfico si la figura es
    suya, a la derecha si dibuja en un ``ax`` ajeno.
    """
    propia = ax is None
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
    if leyenda and propia:
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=3,
                   fontsize=TAMANO_LETRA - 2, frameon=False)
    elif leyenda:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=TAMANO_LETRA - 3, framealpha=0.9)
    return fig


def comparar_experimentos(experimentos: Sequence[ConRegistro]) -> Figure:
    """Los experimentos en una cuadrícula de dos columnas, con el mismo eje vertical y una leyenda común.

    Con tres experimentos la leyenda ocupa el cuarto hueco de la cuadrícula; así
    cada panel conserva un tamaño legible al ancho de un cuaderno.
    """
    columnas = min(len(experimentos), 2)
    filas = -(-len(experimentos) // columnas)
    fig, ejes = plt.subplots(filas, columnas, figsize=(6.5 * columnas, 4.4 * filas + 0.8), sharey=True,
                             layout="constrained", squeeze=False)
    todos = list(ejes.flat)
    for ax, exp in zip(todos, experimentos):
        grafica_ocupacion(exp.registro, titulo=exp.nombre, ax=ax, leyenda=False)
    usados = todos[: len(experimentos)]
    for i, ax in enumerate(usados):
        if i % columnas:
            ax.set_ylabel("")
    manejadores: dict[str, Line2D] = {}
    for ax in usados:
        for h, etiqueta in zip(*ax.get_legend_handles_labels()):
            manejadores.setdefault(etiqueta, h)
    sobrantes = todos[len(experimentos):]
    if sobrantes:
        # El hueco libre de la cuadrícula aloja la leyenda (fuera de los datos); sus ejes se quitan.
        hueco = sobrantes[0].get_subplotspec().get_position(fig)
        for ax in sobrantes:
            fig.delaxes(ax)
        fig.legend(list(manejadores.values()), list(manejadores.keys()), loc="center",
                   bbox_to_anchor=(hueco.x0, hueco.y0, hueco.width, hueco.height),
                   fontsize=TAMANO_LETRA - 1, frameon=False)
    else:
        fig.legend(list(manejadores.values()), list(manejadores.keys()), loc="outside lower center",
                   ncol=3, fontsize=TAMANO_LETRA - 2, frameon=False)
    fig.suptitle("Ocupación del pool en los experimentos", fontsize=TAMANO_LETRA + 4)
    return fig


# --- La carga con varios hilos (cuaderno 7) ---------------------------------------------------------------------------------


def grafica_carga(carga: Carga, titulo: str | None = None) -> Figure:
    """Arriba, la ocupación del pool (en uso, esperando...); abajo, la espera de cada petición."""
    if carga.registro is None:
        raise ValueError("Esta carga se hizo sin registro: usa ejecutar_carga(registrar=True).")
    titulo = titulo or f"{carga.hilos} hilos comparten un pool de {carga.max_size} conexiones"
    fig, (arriba, abajo) = plt.subplots(2, 1, figsize=(12, 8), sharex=True, layout="constrained",
                                        gridspec_kw={"height_ratios": [3, 2]})
    grafica_ocupacion(carga.registro, titulo=titulo, ax=arriba, maximo=carga.max_size, leyenda=False)
    arriba.set_xlabel("")
    arriba.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=TAMANO_LETRA - 3, framealpha=0.9)

    tabla = carga.tabla
    bien, mal = tabla[tabla["error"].isna()], tabla[tabla["error"].notna()]
    abajo.scatter(bien["t"], 1000 * bien["espera"], s=22, color="tab:purple", alpha=0.7,
                  label="espera de cada petición")
    if len(mal):
        abajo.scatter(mal["t"], 1000 * mal["espera"], s=60, marker="X", color="black", label="petición fallida")
    abajo.axhline(1000 * carga.espera_media, color="tab:purple", linestyle="--", linewidth=1.8,
                  label="espera media")
    abajo.set_title("Cuánto esperó cada petición para obtener su conexión", fontsize=TAMANO_LETRA + 1)
    abajo.set_xlabel("instante en que se pidió la conexión (s)", fontsize=TAMANO_LETRA)
    abajo.set_ylabel("espera (ms)", fontsize=TAMANO_LETRA)
    abajo.set_ylim(bottom=0)
    abajo.tick_params(labelsize=TAMANO_LETRA - 1)
    abajo.grid(True, alpha=0.3)
    abajo.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=TAMANO_LETRA - 3, framealpha=0.9)
    return fig


def grafica_barrido(tabla: pd.DataFrame, duracion_uso: float | None = None, hilos: int | None = None) -> Figure:
    """Rendimiento y espera media frente a ``max_size`` (una línea por valor de ``carga``).

    Con ``duracion_uso`` (s) y ``hilos`` dibuja además el rendimiento ideal
    ``min(max_size, hilos) / duracion_uso``.
    """
    fig, (izq, der) = plt.subplots(1, 2, figsize=(13, 5), layout="constrained")
    for etiqueta, datos in tabla.groupby("carga", sort=False):
        izq.plot(datos["max_size"], datos["rendimiento"], marker="o", linewidth=2.4, label=f"medido: {etiqueta}")
        der.plot(datos["max_size"], datos["espera_media_ms"], marker="o", linewidth=2.4, label=f"medida: {etiqueta}")
    if duracion_uso and hilos:
        tamanos = sorted(tabla["max_size"].unique())
        izq.plot(tamanos, [min(t, hilos) / duracion_uso for t in tamanos], linestyle="--", color="0.4",
                 label=f"ideal: min(max_size, {hilos} hilos) / {duracion_uso:g} s")
    if hilos:
        for ax in (izq, der):
            ax.axvline(hilos, color="tab:orange", linestyle=":", linewidth=2, label=f"{hilos} hilos")
    izq.set_title("Rendimiento", fontsize=TAMANO_LETRA + 1)
    izq.set_ylabel("usos por segundo", fontsize=TAMANO_LETRA)
    der.set_title("Espera media para obtener una conexión", fontsize=TAMANO_LETRA + 1)
    der.set_ylabel("espera media (ms)", fontsize=TAMANO_LETRA)
    for ax in (izq, der):
        ax.set_xlabel("max_size (conexiones del pool)", fontsize=TAMANO_LETRA)
        ax.set_xticks(sorted(tabla["max_size"].unique()))
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=TAMANO_LETRA - 1)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=TAMANO_LETRA - 3, framealpha=0.9)
    fig.suptitle("¿Cuántas conexiones necesita el pool?", fontsize=TAMANO_LETRA + 3)
    return fig


def grafica_ganancia(tablas: Sequence[pd.DataFrame], hilos: int | None = None, nucleos: int | None = None) -> Figure:
    """La ganancia (rendimiento / el de ``max_size`` 1) de varias cargas, con los hilos y los núcleos marcados."""
    fig, ax = plt.subplots(figsize=(10, 5.5), layout="constrained")
    tamanos: set[int] = set()
    colores = ("tab:blue", "tab:brown", "tab:green", "tab:purple")
    for i, tabla in enumerate(tablas):
        ax.plot(tabla["max_size"], tabla["ganancia"], marker="o", linewidth=2.6, color=colores[i % len(colores)],
                label=str(tabla["carga"].iloc[0]))
        tamanos.update(int(t) for t in tabla["max_size"])
    if hilos:
        ax.axhline(hilos, color="tab:orange", linestyle=":", linewidth=2.2, label=f"{hilos} hilos (techo de la carga)")
    if nucleos:
        ax.axhline(nucleos, color="tab:red", linestyle="-.", linewidth=2, label=f"{nucleos} núcleos (os.cpu_count())")
    ax.set_title("Ganancia al agrandar el pool: ¿la consulta espera o calcula?", fontsize=TAMANO_LETRA + 2)
    ax.set_xlabel("max_size (conexiones del pool)", fontsize=TAMANO_LETRA)
    ax.set_ylabel("rendimiento / rendimiento con 1 conexión (veces)", fontsize=TAMANO_LETRA)
    ax.set_xticks(sorted(tamanos))
    # Con muchos núcleos (o en un contenedor que ve los del anfitrión) la línea queda fuera: no aplastar el resto.
    techo = max([hilos or 0, min(nucleos or 0, 2 * (hilos or 8))] + [float(t["ganancia"].max()) for t in tablas])
    ax.set_ylim(0, techo + 1)
    ax.tick_params(labelsize=TAMANO_LETRA - 1)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=TAMANO_LETRA - 3, framealpha=0.9)
    return fig
