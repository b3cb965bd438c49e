"""Every pooled database connection busy: the request gets 503 `database_busy` with Retry-After, not a 500."""

from service.helpers import auth


def test_an_exhausted_read_pool_answers_503(make_client, db_url):
    client = make_client(db_url, db_pool_size=1)
    engine = client.app.state.runtime.db.read_engine
    engine.pool._timeout = 0.3  # the real pool, with a short wait for the test
    held = [engine.connect() for _ in range(2)]  # pool_size 1 + 1 overflow: nothing left for the request
    try:
        response = client.get("/v1/queue", headers=auth("advisor"))
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "database_busy"
        assert response.headers["retry-after"] == "2"
    finally:
        for connection in held:
            connection.close()
    assert client.get("/v1/queue", headers=auth("advisor")).status_code == 200
