"""What the service keeps: the database engine set-up, card feedback and the token ids already seen."""
