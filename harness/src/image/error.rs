//! What can go wrong while reading a recipe or building an image.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ImageError {
    #[error("no recipe `{name}` in {dir}")]
    #[diagnostic(
        code(hadrill::image::no_recipe),
        help("recipes are directories with a recipe.yaml; `hadrill image list` shows them")
    )]
    NoRecipe { name: String, dir: PathBuf },
    #[error("the recipes directory {} cannot be read", dir.display())]
    #[diagnostic(
        code(hadrill::image::recipes_dir),
        help("pass --recipes DIR, or set HADRILL_IMAGES_DIR, to a directory of recipes such as hadrill's images/")
    )]
    RecipesDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("recipe {path}: {message}")]
    #[diagnostic(code(hadrill::image::recipe))]
    Recipe { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    #[diagnostic(code(hadrill::image::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}); last output:\n{tail}")]
    #[diagnostic(code(hadrill::image::command))]
    Command { command: String, status: String, tail: String },
    #[error("`{program}` is not installed")]
    #[diagnostic(code(hadrill::image::missing_tool), help("run ci/host-setup.sh, or: apt-get install -y {package}"))]
    MissingTool { program: String, package: String },
    #[error("`{command}` did not finish within {secs} s")]
    #[diagnostic(code(hadrill::image::timeout))]
    Timeout { command: String, secs: u64 },
    #[error("image `{name}` (recipe hash {hash}) is not built")]
    #[diagnostic(code(hadrill::image::not_built), help("`hadrill image build {name}`"))]
    NotBuilt { name: String, hash: String },
    #[error("the image has no kernel or initrd under /boot")]
    #[diagnostic(
        code(hadrill::image::no_kernel),
        help("the recipe must install linux-image-amd64 and initramfs-tools")
    )]
    NoKernel,
    #[error("recipe `{recipe}` needs the APT repository `{name}`, and none was given")]
    #[diagnostic(
        code(hadrill::image::missing_repository),
        help(
            "`hadrill run` gives it from the Proxmox access settings (by default the public repository and its fetched key; HADRILL_PVE_MIRROR and HADRILL_PVE_KEYRING, or images/pve/pve.yaml, override them)"
        )
    )]
    MissingRepository { recipe: String, name: String },
    #[error("APT repository `{name}`: {message}")]
    #[diagnostic(code(hadrill::image::bad_repository))]
    BadRepository { name: String, message: String },
    #[error("the image boots kernel {found}, not one ending in `{want}`")]
    #[diagnostic(
        code(hadrill::image::wrong_kernel),
        help("the recipe's packages must install that kernel (and its initrd) and no other")
    )]
    WrongKernel { want: String, found: String },
    #[error("interrupted")]
    #[diagnostic(code(hadrill::image::interrupted))]
    Interrupted,
}

impl ImageError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ImageError::Io { path: path.into(), source }
    }

    /// The row of the exit-code table: a recipe that is not there or does not load is the
    /// user's to fix; a build that broke is the host's.
    pub fn outcome(&self) -> crate::exit::Outcome {
        use crate::exit::Outcome;
        match self {
            ImageError::NoRecipe { .. } | ImageError::RecipesDir { .. } | ImageError::Recipe { .. } => {
                Outcome::InvalidInput
            }
            ImageError::Interrupted => Outcome::Interrupted,
            _ => Outcome::InfraError,
        }
    }
}
