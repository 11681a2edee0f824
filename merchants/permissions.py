from rest_framework.permissions import BasePermission


class TokenHasAnyScope(BasePermission):
    """Lets a request through when its token carries one of the view's `required_scopes[method]`."""

    message = "this access token lacks the scope this call needs"

    def has_permission(self, request, view) -> bool:
        alternatives = view.required_scopes.get(request.method) or view.required_scopes.get("*", ())
        token = request.auth
        if token is None:
            return False
        granted = set(token.scope.split())
        if granted.intersection(alternatives):
            return True
        self.message = f"this access token lacks the scope this call needs: {' or '.join(alternatives)}"
        return False
