"""What people read: terminal tables, status, the poll JSON contract."""
