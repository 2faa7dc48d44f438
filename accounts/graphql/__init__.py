"""GraphQL of accounts: who is signed in, and signing in (both APIs)."""
