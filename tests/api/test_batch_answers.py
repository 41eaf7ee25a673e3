"""POST /v1/motions/batch answers each accepted item with the motion exactly as GET /v1/motions/{id} reads it."""

VALID = {"image_url": "https://img.example.com/a.png", "name": "Ann", "voice_id": "en-US-JennyNeural", "model": "2.0"}
ITEMS = [
    VALID,
    {**VALID, "metadata": {"order": 7, "tags": ["a", None], "deep": {"x": 1.5}}, "priority": "high"},
    {**VALID, "description": 'a "quoted" {brace}, back\\slash', "welcome_msg": "", "photo_id": "NULL"},
    {**VALID, "callback_url": "https://cb.example.com/hook", "name": "Zoë 名前 ", "metadata": {}},
    {**VALID, "external_id": "ext-1", "metadata": None},  # read before its insert: written through the ORM
    {**VALID, "model": "3.0", "priority": "low"},
]


def test_accepted_items_answer_as_the_motions_read_back(client, make_caller):
    """Plain items (written together, answered from their values) and the others answer what a GET returns."""
    _, key = make_caller(callback_url="https://default.example.com/cb")
    auth = {"Authorization": f"Bearer {key}"}
    results = client.post("/v1/motions/batch", json={"items": ITEMS}, headers=auth).get_json()["items"]
    assert [result["status"] for result in results] == [202] * len(ITEMS)
    for result in results:
        read = client.get(f"/v1/motions/{result['motion']['id']}", headers=auth).get_json()
        assert result["motion"] == read
        assert list(result["motion"]) == list(read)
