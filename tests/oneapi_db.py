"""A One API database for the importer tests, built with the tables One API's GORM models create
(model/{user,token,channel,ability,option,redemption,log}.go), in SQLite or MySQL column types."""
import bcrypt

# Column types per dialect, as GORM's SQLite and MySQL drivers choose them.
TYPES = {
    "sqlite": {"INT": "integer", "TEXT": "text", "ITEXT": "text", "BOOL": "numeric", "REAL": "real"},
    "mysql": {"INT": "bigint", "TEXT": "longtext", "ITEXT": "varchar(191)", "BOOL": "boolean", "REAL": "double"},
}

TABLES = [
    """CREATE TABLE `users` (`id` INT, `username` ITEXT UNIQUE, `password` TEXT NOT NULL, `display_name` ITEXT,
       `role` INT DEFAULT 1, `status` INT DEFAULT 1, `email` ITEXT, `github_id` ITEXT, `wechat_id` ITEXT,
       `lark_id` ITEXT, `oidc_id` ITEXT, `access_token` char(32), `quota` INT DEFAULT 0, `used_quota` INT DEFAULT 0,
       `request_count` INT DEFAULT 0, `group` varchar(32) DEFAULT 'default', `aff_code` varchar(32),
       `inviter_id` INT, PRIMARY KEY (`id`))""",
    """CREATE TABLE `tokens` (`id` INT, `user_id` INT, `key` char(48), `status` INT DEFAULT 1, `name` ITEXT,
       `created_time` INT, `accessed_time` INT, `expired_time` INT DEFAULT -1, `remain_quota` INT DEFAULT 0,
       `unlimited_quota` BOOL DEFAULT false, `used_quota` INT DEFAULT 0, `models` TEXT, `subnet` ITEXT DEFAULT '',
       PRIMARY KEY (`id`), UNIQUE (`key`))""",
    """CREATE TABLE `channels` (`id` INT, `type` INT DEFAULT 0, `key` TEXT, `status` INT DEFAULT 1, `name` ITEXT,
       `weight` INT DEFAULT 0, `created_time` INT, `test_time` INT, `response_time` INT, `base_url` ITEXT DEFAULT '',
       `other` TEXT, `balance` REAL, `balance_updated_time` INT, `models` TEXT, `group` varchar(32) DEFAULT 'default',
       `used_quota` INT DEFAULT 0, `model_mapping` varchar(1024) DEFAULT '', `priority` INT DEFAULT 0,
       `config` TEXT, `system_prompt` TEXT, PRIMARY KEY (`id`))""",
    """CREATE TABLE `abilities` (`group` varchar(32), `model` ITEXT, `channel_id` INT, `enabled` BOOL,
       `priority` INT DEFAULT 0, PRIMARY KEY (`group`, `model`, `channel_id`))""",
    "CREATE TABLE `options` (`key` ITEXT, `value` TEXT, PRIMARY KEY (`key`))",
    """CREATE TABLE `redemptions` (`id` INT, `user_id` INT, `key` char(32), `status` INT DEFAULT 1, `name` ITEXT,
       `quota` INT DEFAULT 100, `created_time` INT, `redeemed_time` INT, PRIMARY KEY (`id`), UNIQUE (`key`))""",
    """CREATE TABLE `logs` (`id` INT, `user_id` INT, `created_at` INT, `type` INT, `content` TEXT,
       `username` ITEXT DEFAULT '', `token_name` ITEXT DEFAULT '', `model_name` ITEXT DEFAULT '',
       `quota` INT DEFAULT 0, `prompt_tokens` INT DEFAULT 0, `completion_tokens` INT DEFAULT 0, `channel_id` INT,
       `request_id` ITEXT DEFAULT '', `elapsed_time` INT DEFAULT 0, `is_stream` BOOL DEFAULT false,
       `system_prompt_reset` BOOL DEFAULT false, PRIMARY KEY (`id`))""",
]

ALICE_KEY = "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7sU9wY1bD3"   # One API stores keys without "sk-"
ALICE_ACCESS_TOKEN = "0123456789abcdef0123456789abcdef"
PASSWORDS = {"root": "rootpass1", "alice": "alicepass", "bob": "bobpass12", "carol": "carolpass"}
LOG_COUNT = 25


def _bcrypt(password: str) -> str:
    # One API (Go) writes $2a$ hashes with cost 10; cost 4 keeps the test fast, the format is the same.
    return "$2a$" + bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()[4:]


def create_tables(cursor, dialect: str):
    for ddl in TABLES:
        for name, sql_type in TYPES[dialect].items():
            ddl = ddl.replace(f" {name} ", f" {sql_type} ").replace(f" {name},", f" {sql_type},")
        cursor.execute(ddl)


def _insert(cursor, mark, table, rows):
    columns = list(rows[0])
    sql = (f"INSERT INTO `{table}` ({', '.join(f'`{c}`' for c in columns)}) "
           f"VALUES ({', '.join([mark] * len(columns))})")
    for row in rows:
        cursor.execute(sql, [row[c] for c in columns])


def fill(cursor, mark: str, upstream_url: str):
    """Users root/alice/bob(disabled)/carol(deleted), three tokens, three channels, options, codes, logs."""
    user = dict(display_name="", email="", github_id="", wechat_id="", lark_id="", oidc_id="", access_token=None,
                used_quota=0, request_count=0, group="default", inviter_id=0)
    _insert(cursor, mark, "users", [
        {**user, "id": 1, "username": "root", "password": _bcrypt("rootpass1"), "role": 100, "status": 1,
         "quota": 500_000_000, "aff_code": "r00t"},
        {**user, "id": 2, "username": "alice", "password": _bcrypt("alicepass"), "role": 1, "status": 1,
         "quota": 1_000_000, "used_quota": 2500, "request_count": 3, "aff_code": "al1c",
         "access_token": ALICE_ACCESS_TOKEN, "email": "alice@example.com"},
        {**user, "id": 3, "username": "bob", "password": _bcrypt("bobpass12"), "role": 1, "status": 2,
         "quota": 10, "aff_code": "b0bb", "group": "vip"},
        {**user, "id": 5, "username": "carol", "password": _bcrypt("carolpass"), "role": 1, "status": 3,
         "quota": 0, "aff_code": "car0"},
    ])
    token = dict(created_time=1_700_000_000, accessed_time=0, expired_time=-1, unlimited_quota=False,
                 used_quota=0, models="", subnet="")
    _insert(cursor, mark, "tokens", [
        {**token, "id": 1, "user_id": 2, "key": ALICE_KEY, "status": 1, "name": "alice-main",
         "remain_quota": 500_000, "models": "gpt-4o-mini,gpt-4o", "subnet": "127.0.0.0/8"},
        {**token, "id": 2, "user_id": 2, "key": "x" * 48, "status": 3, "name": "alice-old",
         "remain_quota": 0, "expired_time": 1_600_000_000},
        {**token, "id": 4, "user_id": 1, "key": "r" * 48, "status": 1, "name": "root", "remain_quota": 0,
         "unlimited_quota": True},
        {**token, "id": 5, "user_id": 3, "key": "b" * 48, "status": 1, "name": "bob", "remain_quota": 10},
        {**token, "id": 6, "user_id": 5, "key": "c" * 48, "status": 1, "name": "carol", "remain_quota": 10},
    ])
    channel = dict(weight=None, created_time=1_700_000_000, test_time=0, response_time=0, other=None, balance=0.0,
                   balance_updated_time=0, used_quota=0, model_mapping="", priority=0, config="", system_prompt=None)
    _insert(cursor, mark, "channels", [
        {**channel, "id": 1, "type": 1, "key": "key-ok", "status": 1, "name": "mock", "base_url": upstream_url,
         "models": "gpt-4o-mini,gpt-4o", "group": "default,vip", "model_mapping": '{"gpt-4o": "gpt-4o-mini"}',
         "priority": 5, "weight": 3},
        {**channel, "id": 2, "type": 36, "key": "sk-deepseek", "status": 2, "name": "deepseek", "base_url": "",
         "models": "deepseek-chat", "group": "default", "priority": None},
        {**channel, "id": 7, "type": 15, "key": "ak|sk", "status": 1, "name": "baidu", "base_url": "",
         "models": "ERNIE-4.0-8K", "group": "default"},
    ])
    _insert(cursor, mark, "abilities", [
        {"group": g, "model": m, "channel_id": 1, "enabled": True, "priority": 5}
        for g in ("default", "vip") for m in ("gpt-4o-mini", "gpt-4o")
    ] + [{"group": "default", "model": "deepseek-chat", "channel_id": 2, "enabled": False, "priority": 0},
         {"group": "default", "model": "ERNIE-4.0-8K", "channel_id": 7, "enabled": True, "priority": 0}])
    _insert(cursor, mark, "options", [
        {"key": "SystemName", "value": "Old Gateway"},
        {"key": "QuotaForNewUser", "value": "1234"},
        {"key": "SMTPServer", "value": "smtp.example.com"},
    ])
    _insert(cursor, mark, "redemptions", [
        {"id": 1, "user_id": 1, "key": "c0de" * 8, "status": 1, "name": "gift", "quota": 100_000,
         "created_time": 1_700_000_000, "redeemed_time": 0},
        {"id": 2, "user_id": 1, "key": "used" * 8, "status": 3, "name": "gift", "quota": 100_000,
         "created_time": 1_700_000_000, "redeemed_time": 1_700_000_100},
    ])
    _insert(cursor, mark, "logs", [
        {"id": i, "user_id": 2, "created_at": 1_700_000_000 + i, "type": 2, "content": f"call {i}",
         "username": "alice", "token_name": "alice-main", "model_name": "gpt-4o-mini", "quota": 100,
         "prompt_tokens": 10, "completion_tokens": 5, "channel_id": 1, "request_id": f"req{i}",
         "elapsed_time": 1500, "is_stream": i % 2 == 0, "system_prompt_reset": False}
        for i in range(1, LOG_COUNT + 1)
    ])
