-- Tokens of the web API's writes (autotest web token create): only their SHA-256 is kept, so
-- a copy of the database gives no one a usable token.
CREATE TABLE api_tokens (
    id @ID@,
    user_name TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_on @INT@ NOT NULL
);
