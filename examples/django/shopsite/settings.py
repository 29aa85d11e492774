"""Settings of the example project: two apps, and the database named by
DATABASE_URL (postgres://USER:PASSWORD@HOST:PORT/NAME, or sqlite:PATH), the
variable dbshift reads too, else db.sqlite3 beside manage.py."""
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "example-only"
DEBUG = False
ALLOWED_HOSTS = []
INSTALLED_APPS = ["shop", "crm"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

url = os.environ.get("DATABASE_URL", "sqlite:" + str(BASE_DIR / "db.sqlite3"))
if url.startswith("sqlite:"):
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                             "NAME": url[len("sqlite:"):]}}
else:
    u = urlparse(url)
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql",
                             "NAME": unquote(u.path[1:]), "USER": unquote(u.username or ""),
                             "PASSWORD": unquote(u.password or ""),
                             "HOST": u.hostname or "", "PORT": u.port or ""}}
