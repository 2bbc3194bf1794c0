"""docs/deploy.md's `docker run` recipe works as written for the image's user:
a secret file made 0600 on the host and bind-mounted into the container must
be owned by the image's fixed UID, or the daemon cannot read it and exits 2."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _image_uid() -> str:
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\d+)", text, re.MULTILINE)
    assert users, "the Dockerfile names a numeric USER"
    return users[-1]


def _container_recipe() -> str:
    text = (ROOT / "docs" / "deploy.md").read_text()
    section = text.split("## Container image", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    assert blocks, "the Container image section has a shell recipe"
    return "\n".join(blocks)


def test_a_0600_secret_mounted_into_the_container_is_owned_by_the_images_uid() -> None:
    uid = _image_uid()
    recipe = _container_recipe()
    private = re.findall(r"chmod (?:0?600|u=rw,go=) (\S+)", recipe)
    assert private, "the recipe makes the token file private"
    for name in private:
        mounted = re.search(rf'-v "?\$PWD/{re.escape(name)}:', recipe)
        if mounted is None:
            continue
        assert re.search(rf"chown {uid}(:{uid})? {re.escape(name)}\b", recipe), (
            f"{name} is 0600 and mounted into a container that runs as {uid}: chown it"
        )
