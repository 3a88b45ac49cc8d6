"""Add-on preferences: the network's URL, the API key (stored in Blender's preferences and never
printed), the default tier."""

import bpy

TIERS = (
    ("economy", "Economy", "Cheapest capacity, whenever it is free"),
    ("standard", "Standard", "The default balance of price and speed"),
    ("priority", "Priority", "Fastest reliable capacity first"),
)


class PictorPreferences(bpy.types.AddonPreferences):
    """Where the Pictor network is and who pays."""

    bl_idname = __package__

    network_url: bpy.props.StringProperty(
        name="Network URL",
        description="The Pictor network's address, e.g. https://render.example.org",
        default="http://127.0.0.1:7878",
    )
    api_key: bpy.props.StringProperty(
        name="API key",
        description="Your creator account's API key (kept in Blender's preferences)",
        subtype="PASSWORD",
    )
    default_tier: bpy.props.EnumProperty(
        name="Default tier", items=TIERS, default="standard",
        description="The tier a new scene renders in",
    )

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "network_url")
        layout.prop(self, "api_key")
        layout.prop(self, "default_tier")


def get(context) -> "PictorPreferences":
    """The add-on's preferences."""
    return context.preferences.addons[__package__].preferences


def register() -> None:
    bpy.utils.register_class(PictorPreferences)


def unregister() -> None:
    bpy.utils.unregister_class(PictorPreferences)
