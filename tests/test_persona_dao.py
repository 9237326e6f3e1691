"""PersonaDAO: CRUD con parámetros, entradas malas rechazadas y la tabla intacta."""

from __future__ import annotations

import psycopg
import pytest

from capa_datos_persona import Conexion, ErrorDatosPersona, Persona, PersonaDAO, crear_tabla


def test_seleccionar_devuelve_las_filas_de_ejemplo(tabla: None) -> None:
    personas = PersonaDAO.seleccionar()
    assert [str(p) for p in personas] == [
        "Persona 1: Juan Pérez <jperez@mail.com>",
        "Persona 2: Karla Gómez <kgomez@mail.com>",
        "Persona 3: María Esparza <mesparza@mail.com>",
    ]
    assert repr(personas[0]) == "Persona(id_persona=1, nombre='Juan', apellido='Pérez', email='jperez@mail.com')"


def test_insertar_actualizar_eliminar(tabla: None, filas) -> None:
    nueva = Persona(nombre="Ana", apellido="Ruiz", email="aruiz@mail.com")
    assert PersonaDAO.insertar(nueva) == 1
    assert nueva.id_persona == 4
    nueva.email = "ana.ruiz@mail.com"
    assert PersonaDAO.actualizar(nueva) == 1
    assert filas()[-1] == (4, "Ana", "Ruiz", "ana.ruiz@mail.com")
    assert PersonaDAO.eliminar(nueva) == 1
    assert len(filas()) == 3


@pytest.mark.parametrize(
    "nombre",
    ["O'Brien", "Robert'); DROP TABLE persona;--", "Peña", "Íñigo", "Zoë 🙂", "x" * 50, '"comillas" y \\barras\\'],
)
def test_nombres_dificiles_se_guardan_tal_cual(tabla: None, filas, nombre: str) -> None:
    persona = Persona(nombre=nombre, apellido="Prueba", email="p@mail.com")
    PersonaDAO.insertar(persona)
    assert filas()[-1] == (persona.id_persona, nombre, "Prueba", "p@mail.com")
    assert len(filas()) == 4  # la tabla sigue ahí, con sus filas


@pytest.mark.parametrize(
    ("persona", "mensaje"),
    [
        (Persona(nombre="Ana", apellido="Ruiz"), "'email' es obligatorio"),
        (Persona(nombre=None, apellido="Ruiz", email="a@mail.com"), "'nombre' es obligatorio"),
        (Persona(nombre="   ", apellido="Ruiz", email="a@mail.com"), "'nombre' es obligatorio"),
        (Persona(nombre="Ana", apellido=7, email="a@mail.com"), "'apellido' es obligatorio"),  # type: ignore[arg-type]
        (Persona(nombre="A" * 51, apellido="Ruiz", email="a@mail.com"), "como máximo 50 caracteres y tiene 51"),
        (Persona(nombre="Ana", apellido="Ruiz", email="a" * 101), "como máximo 100"),
        (Persona(nombre="A\x00na", apellido="Ruiz", email="a@mail.com"), "carácter nulo"),
    ],
)
def test_insertar_datos_malos_se_rechaza_sin_tocar_la_tabla(tabla: None, filas, persona, mensaje) -> None:
    antes = filas()
    with pytest.raises(ErrorDatosPersona, match=mensaje):
        PersonaDAO.insertar(persona)
    assert filas() == antes
    assert persona.id_persona is None


def test_insertar_algo_que_no_es_persona() -> None:
    with pytest.raises(ErrorDatosPersona, match="Se esperaba una Persona"):
        PersonaDAO.insertar({"nombre": "Ana"})  # type: ignore[arg-type]
    with pytest.raises(ErrorDatosPersona, match="Se esperaba una Persona"):
        PersonaDAO.eliminar(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("ident", [None, "1", 1.0, True])
def test_actualizar_o_eliminar_sin_id_valido(tabla: None, filas, ident) -> None:
    antes = filas()
    persona = Persona(ident, "Juan", "Pérez", "otro@mail.com")
    with pytest.raises(ErrorDatosPersona, match="id_persona"):
        PersonaDAO.actualizar(persona)
    with pytest.raises(ErrorDatosPersona, match="id_persona"):
        PersonaDAO.eliminar(persona)
    assert filas() == antes


def test_id_que_no_existe_devuelve_cero_y_avisa(tabla: None, filas, capsys: pytest.CaptureFixture[str]) -> None:
    antes = filas()
    fantasma = Persona(999, "Nadie", "Nunca", "nadie@mail.com")
    assert PersonaDAO.actualizar(fantasma) == 0
    assert PersonaDAO.eliminar(fantasma) == 0
    assert filas() == antes
    assert "No existe ninguna persona con id_persona=999" in capsys.readouterr().out


def test_una_escritura_que_falla_en_el_servidor_no_deja_rastro(
    tabla: None, filas, directa, capsys: pytest.CaptureFixture[str]
) -> None:
    """Si el servidor rechaza la escritura, el with hace rollback y la conexión vuelve limpia al pool.

    El rechazo es real: una restricción CHECK añadida a propósito, que la validación de Python no conoce.
    """
    antes = filas()
    directa.execute("ALTER TABLE persona ADD CONSTRAINT solo_mail_com CHECK (email LIKE '%@mail.com')")
    try:
        with pytest.raises(psycopg.errors.CheckViolation, match="solo_mail_com"):
            PersonaDAO.insertar(Persona(nombre="Ana", apellido="Ruiz", email="ana@otro.org"))
        with pytest.raises(psycopg.errors.CheckViolation, match="solo_mail_com"):
            PersonaDAO.actualizar(Persona(1, "Juan", "Pérez", "juan@otro.org"))
    finally:
        directa.execute("ALTER TABLE persona DROP CONSTRAINT IF EXISTS solo_mail_com")
    assert filas() == antes
    estadisticas = Conexion.obtener_pool().get_stats()
    assert estadisticas["pool_available"] == estadisticas["pool_size"]
    assert "rolling back returned connection" not in capsys.readouterr().out  # el rollback lo hizo el with
    # la misma conexión del pool sirve para lo siguiente: no quedó una transacción abortada
    assert PersonaDAO.insertar(Persona(nombre="Ana", apellido="Ruiz", email="ana@mail.com")) == 1
    assert len(PersonaDAO.seleccionar()) == 4


def test_los_limites_de_python_son_los_de_la_tabla(tabla: None, directa) -> None:
    """La validación (50/50/100 caracteres, obligatorios) dice lo mismo que las columnas del servidor."""
    columnas = directa.execute(
        "SELECT column_name, character_maximum_length, is_nullable FROM information_schema.columns "
        "WHERE table_name = 'persona' AND table_schema = current_schema() AND data_type = 'character varying'"
    ).fetchall()
    assert sorted(columnas) == [("apellido", 50, "NO"), ("email", 100, "NO"), ("nombre", 50, "NO")]
    # justo en el límite se guarda; uno más lo rechaza la validación antes de llegar al servidor
    PersonaDAO.insertar(Persona(nombre="N" * 50, apellido="A" * 50, email="e" * 100))
    with pytest.raises(ErrorDatosPersona, match="como máximo 100 caracteres y tiene 101"):
        PersonaDAO.insertar(Persona(nombre="N", apellido="A", email="e" * 101))


def test_crear_tabla_es_idempotente_y_no_borra(tabla: None, filas) -> None:
    PersonaDAO.insertar(Persona(nombre="Ana", apellido="Ruiz", email="a@mail.com"))
    assert crear_tabla() is False
    assert len(filas()) == 4


def test_crear_tabla_desde_cero_pone_filas_de_ejemplo(directa, filas) -> None:
    directa.execute("DROP TABLE IF EXISTS persona")
    assert crear_tabla() is True
    assert [f[1] for f in filas()] == ["Juan", "Karla", "María"]
