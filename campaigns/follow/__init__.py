"""Follow campaigns: points for following a merchant's WeChat official account (issue 21)."""
