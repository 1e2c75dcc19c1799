from enum import StrEnum


class AccountErrorCode(StrEnum):
    INVALID_CREDENTIALS = "invalid_credentials"
    EMAIL_TAKEN = "email_taken"
    PASSWORD_TOO_WEAK = "password_too_weak"
    TOKEN_INVALID = "token_invalid"
    TOO_MANY_ADDRESSES = "too_many_addresses"
